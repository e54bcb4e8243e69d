"""The container's format: its constants and limits, the Archive a read returns, FileFormatError,
member names, and `brief` (a value shortened for messages)."""

from __future__ import annotations

import math
import re
import reprlib
import struct
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np


FORMAT_NAME = "seqattn"


FORMAT_VERSION = 1


KINDS = ("model", "weights")


# Little-endian, C-order .npy payloads only: the files read the same on every machine.
_DTYPES = {np.dtype(t).newbyteorder("<").str: np.dtype(t).newbyteorder("<") for t in
           (np.float32, np.float64, np.int32, np.int64, np.uint8, np.uint32, np.uint64, np.bool_)}


# Stored, not deflated: float weights barely compress. For 660k float32 weights + Adam's two
# slots (7.9 MB), DEFLATE saved 7.5% of the size and made writing 15x slower (390 vs 25 ms)
# and reading 2.5x slower. The reader accepts both.
_COMPRESSION = zipfile.ZIP_STORED


_READABLE_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


_DEFLATE_MAX_RATIO = 1032  # the most DEFLATE can expand data: bounds a zip bomb's payload


_ZIP_SIGNATURE = b"PK\x03\x04"  # a local file header: every archive we write starts with one


_FIXED_MEMBERS = ("metadata.json", "config.json", "state.json")


_MAX_JSON_BYTES = 100 * 2**20   # per JSON member (safetensors caps its header at 100 MB too)


_MAX_NPY_HEADER = 4096          # our headers are < 1 KB (magic, length, dict, padding to 64)


_MAX_NDIM = 32


_MAX_NAME = 200


_NAME = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")


# A temporary file whose writer cannot be checked (written by an older seqattn, which put no
# pid in the name, or on another host sharing the directory) counts as abandoned only after
# this long without a change: no save takes a day.
_FOREIGN_TEMP_AGE = 24 * 3600


# What zipfile, zlib, numpy's header parser and struct raise on damaged input.
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error, EOFError,
           ValueError, KeyError, IndexError, OverflowError, NotImplementedError)


class FileFormatError(ValueError):
    """A file is not a seqattn file, is damaged, or cannot be read by this version.

    The message starts with the file's path and says what is wrong.
    """


@dataclass(frozen=True)
class Archive:
    """The content of a seqattn file, as `read_archive` returns it."""

    kind: str                      # "model" or "weights"
    metadata: dict                 # metadata.json: format, versions, creation time, array list
    config: dict
    state: dict
    arrays: dict                   # name -> np.ndarray, in the order written


def _valid_name(name) -> bool:
    return (isinstance(name, str) and len(name) <= _MAX_NAME and _NAME.fullmatch(name) is not None
            and all(part not in (".", "..") for part in name.split("/")))


def _member(name) -> str:
    return f"arrays/{name}.npy"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_BRIEF = reprlib.Repr()


_BRIEF.maxlevel, _BRIEF.maxlist, _BRIEF.maxdict = 3, 4, 4


_BRIEF.maxstring = _BRIEF.maxother = _BRIEF.maxlong = 60


def brief(value, quote=True) -> str:
    """A short repr of a value read from a file, for error messages: a crafted file may put a
    megabyte string or a list nested a thousand deep where a number belongs (reprlib cuts
    both). inf and nan read as `inf`/`nan`, huge integers are shortened in the middle."""
    if isinstance(value, str) and not quote:
        return value if len(value) <= 60 else value[:28] + "..." + value[-28:]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return _BRIEF.repr(value)
