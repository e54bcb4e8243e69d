"""The on-disk container for seqattn model and weight files.

A seqattn file is a ZIP archive (members stored uncompressed, see `_COMPRESSION`):

    metadata.json       {"format": "seqattn", "format_version": 1, "kind": "model"|"weights",
                         "seqattn_version": "0.1.0", "created": "2025-01-01T00:00:00+00:00",
                         "arrays": {"weights/0000": {"dtype": "<f4", "shape": [1000, 32]}, ...}}
    config.json         the caller's config dict (the architecture)
    state.json          the caller's state dict (counters, random-number states)
    arrays/<name>.npy   one NumPy .npy file per array, in the order of metadata["arrays"]

Why this layout: ZIP and .npy are inspectable with standard tools (`unzip -l`, `np.load`), the
ZIP CRC-32 of every member catches corruption, and the .npy header restates dtype and shape so
they can be checked against metadata.json before anything is allocated.

Loading is data only. An array's .npy header is parsed (numpy.lib.format, no pickle) and
checked against the declared dtype and shape, then its bytes are read as that plain dtype;
JSON is parsed with `json.loads`. Nothing in a file is ever unpickled, imported, evaluated or executed, and no file
can switch that off (the lessons of torch.load and Keras's CVE-2025-1550, CVE-2025-9906).
Every problem with a file's content raises `FileFormatError` naming the path.

Writing is atomic: the archive goes to a temporary file in the target's directory, is flushed
and fsynced, then `os.replace`d onto the target. A crash, Ctrl-C or full disk leaves either the
old file or the new one, never a mix. Only SIGKILL or a power cut can leave the temporary file
behind; its name records the writer (".<name>.<host>-<pid>.<random>.tmp"), so the next save of
the same target removes it once that writer is gone (see `_remove_stale_temps`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import reprlib
import secrets
import socket
import stat
import struct
import time
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from numpy.lib import format as npy_format

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


# ------------------------------------------------------------------------------------ writing

def write_archive(path, *, kind: str, config: dict, arrays: dict, state: dict | None = None,
                  ) -> None:
    """Writes a seqattn file atomically.

    Args:
        path: str or os.PathLike. An existing file is replaced only once the new one is
            complete and on disk; a symlink is written through, like `open(path, "wb")`.
        kind: "model" (architecture + weights + optimizer state) or "weights".
        config, state: JSON-serialisable dicts (tuples come back as lists, dict keys as
            strings; float inf and nan are kept).
        arrays: name -> np.ndarray. Names are "/"-separated words of letters, digits, "_", "."
            and "-" (e.g. "weights/0007"). Dtypes: float32, float64, int32, int64, uint8,
            uint32, uint64, bool.

    Everything is validated before the disk is touched. Then the archive is written to a
    temporary ".<name>.<host>-<pid>.<random>.tmp" file in the same directory (same
    filesystem, so the rename is atomic), flushed, fsynced, renamed onto `path` with
    `os.replace`, and the directory is fsynced so the rename survives a power cut. On any
    exception, Ctrl-C included, the temporary file is removed and the old file at `path` is
    untouched. Only SIGKILL or a power cut mid-write can leave a temporary file behind (never
    the target); the next save of `path` removes such leftovers once their writer is gone.
    """
    _check_kind("kind", kind)
    config_json = _dump_json("config", config)
    state_json = _dump_json("state", {} if state is None else state)
    arrays = _prepare_arrays(arrays)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "seqattn_version": _library_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "arrays": {name: {"dtype": a.dtype.str, "shape": list(a.shape)}
                   for name, a in arrays.items()},
    }
    metadata_json = _dump_json("metadata", metadata)

    def write_members(zf):
        for member, data in zip(_FIXED_MEMBERS, (metadata_json, config_json, state_json)):
            zf.writestr(_zip_info(member), data)
        for name, array in arrays.items():
            # force_zip64 well before zipfile's 2 GiB limit for a member of unknown size.
            with zf.open(_zip_info(_member(name)), "w", force_zip64=array.nbytes >= 2**30) as f:
                npy_format.write_array(f, array, allow_pickle=False)

    _replace_atomically(path, write_members)


def _check_kind(argument, kind):
    if kind not in KINDS:
        raise ValueError(f"Expected `{argument}` to be one of {KINDS}. Received: "
                         f"{argument}={kind!r}")


def _dump_json(section, value) -> bytes:
    if not isinstance(value, dict):
        raise TypeError(f"Expected a dict for `{section}`. Received: {type(value).__name__}")
    try:
        text = json.dumps(value, indent=1)
    except (TypeError, ValueError) as e:
        raise TypeError(f"`{section}` is not JSON-serialisable: {e}") from e
    data = text.encode("utf-8")
    if len(data) > _MAX_JSON_BYTES:
        raise ValueError(f"`{section}` is {len(data)} bytes as JSON, more than the "
                         f"{_MAX_JSON_BYTES} a file may hold; store large data as arrays")
    return data


def _prepare_arrays(arrays) -> dict:
    """Checks names and dtypes; returns little-endian C-contiguous arrays (no copy if already)."""
    if not isinstance(arrays, dict):
        raise TypeError(f"Expected a dict of name -> np.ndarray for `arrays`. "
                        f"Received: {type(arrays).__name__}")
    prepared = {}
    for name, array in arrays.items():
        if not isinstance(name, str):
            raise TypeError(f"Array names must be strings. Received: {name!r}")
        if not _valid_name(name):
            raise ValueError(f"Invalid array name {name!r}: expected '/'-separated words of "
                             f"letters, digits, '_', '.', '-' (at most {_MAX_NAME} characters)")
        if not isinstance(array, np.ndarray):
            raise TypeError(f"Array {name!r} must be a np.ndarray. "
                            f"Received: {type(array).__name__}")
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder != "|" else array.dtype
        if dtype.str not in _DTYPES or array.dtype.fields is not None:
            raise TypeError(f"Array {name!r} has the unsupported dtype {array.dtype}; "
                            f"supported: float32, float64, int32, int64, uint8, uint32, "
                            f"uint64, bool")
        if array.ndim > _MAX_NDIM:
            raise ValueError(f"Array {name!r} has {array.ndim} dimensions; at most "
                             f"{_MAX_NDIM} are supported")
        prepared[name] = np.asarray(array, dtype=_DTYPES[dtype.str], order="C")
    return prepared


def _valid_name(name) -> bool:
    return (isinstance(name, str) and len(name) <= _MAX_NAME and _NAME.fullmatch(name) is not None
            and all(part not in (".", "..") for part in name.split("/")))


def _member(name) -> str:
    return f"arrays/{name}.npy"


def _zip_info(member) -> zipfile.ZipInfo:
    # A fixed 1980-01-01 timestamp (ZipInfo's default): same content, same bytes, apart from
    # metadata["created"].
    info = zipfile.ZipInfo(member)
    info.compress_type = _COMPRESSION
    info.external_attr = 0o644 << 16  # what `unzip` gives the extracted file
    return info


def _library_version() -> str:
    from . import __version__  # at call time: this module loads while seqattn is importing
    return __version__


def _replace_atomically(path, write_members) -> None:
    """Writes a ZIP with `write_members(zipfile)` to a temp file, then os.replace()s it."""
    shown = os.fsdecode(path)
    if os.path.isdir(shown):
        raise IsADirectoryError(errno.EISDIR, "Is a directory, cannot save over it", shown)
    target = os.path.realpath(shown)  # write through a symlink, as open(path, "wb") would
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, "No such directory to save into",
                                os.path.dirname(shown) or directory)
    _remove_stale_temps(target)
    fd, temp = _create_temp(target)
    try:
        with os.fdopen(fd, "wb") as f:
            zf = zipfile.ZipFile(f, "w")
            try:
                write_members(zf)
            except BaseException:
                # Close quietly (into the doomed temp file) so that the original exception,
                # e.g. KeyboardInterrupt, is the one that propagates.
                with contextlib.suppress(Exception):
                    zf.close()
                raise
            zf.close()
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            # Like open(path, "wb"), keep an existing file's permission bits.
            os.chmod(temp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(directory)


def _host_tag() -> str:
    """8 hex digits naming this machine (hostname hash): a pid means something only on the host
    that wrote it, and a shared (network) directory may hold temp files of other hosts."""
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _create_temp(target):
    """Creates ".<name>.<host>-<pid>.<random>.tmp" beside `target`, returns (fd, path).

    Like tempfile.mkstemp (O_EXCL, so never an existing file or a planted symlink), but with
    mode 0o666 so the kernel applies the umask exactly as open() does; mkstemp's 0o600 would
    need the umask, which Python can only read by changing it (unsafe with threads). The host
    and pid say who is writing, so a later save can tell an abandoned file from a live one.
    """
    directory, name = os.path.split(target)
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
             | getattr(os, "O_CLOEXEC", 0))
    writer = f"{_host_tag()}-{os.getpid()}"
    for _ in range(100):
        temp = os.path.join(directory, f".{name}.{writer}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "No usable temporary file name", temp)


def _remove_stale_temps(target) -> None:
    """Deletes the temporary files that killed saves of `target` left beside it.

    Only names of exactly our two forms for this target are candidates, nothing else in the
    directory is touched:
        ".<name>.<host>-<pid>.<8 hex>.tmp"  (this version) is removed when <host> is this
            machine and no process <pid> exists (os.kill(pid, 0) raises ProcessLookupError);
            a live writer, even one of another user (PermissionError), keeps its file. Files
            of other hosts (a shared directory) are judged by age only, as below.
        ".<name>.<8 hex>.tmp"  (older versions, no pid) is removed when unchanged for
            `_FOREIGN_TEMP_AGE` seconds.
    A pid reused by an unrelated process only delays the removal to a later save. Failures
    (a read-only or vanished directory, a file removed by a concurrent save) are ignored:
    cleaning up must never make a save fail.
    """
    directory, name = os.path.split(target)
    pattern = re.compile(re.escape(f".{name}.")
                         + r"(?:(?P<host>[0-9a-f]{8})-(?P<pid>[1-9][0-9]{0,9})\.)?"
                         + r"[0-9a-f]{8}\.tmp")
    ours, now = _host_tag(), time.time()
    try:
        with os.scandir(directory) as it:
            entries = list(it)
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if match["pid"] is not None and match["host"] == ours and os.name == "posix":
                # os.kill(pid, 0) only asks; on Windows it would terminate the process.
                if _process_exists(int(match["pid"])):
                    continue
            elif now - entry.stat(follow_symlinks=False).st_mtime < _FOREIGN_TEMP_AGE:
                continue
            os.unlink(entry.path)
        except OSError:
            continue


def _process_exists(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OverflowError, OSError):  # PermissionError: another user's process
        return True  # alive, or a pid we cannot ask about: keep its file
    return True


def _fsync_directory(directory) -> None:
    """Makes the rename durable (POSIX); a filesystem that refuses is not an error."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ------------------------------------------------------------------------------------ reading

def read_archive(path, *, expected_kind: str | None = None) -> Archive:
    """Reads and fully validates a seqattn file.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: as open() would.
        FileFormatError: the file is not a seqattn file, is truncated or corrupted, was
            written by a newer seqattn, or is not of `expected_kind` ("model" or "weights").

    Checks, in order: the ZIP signature, metadata.json (format name, then format version, then
    kind and the declared arrays), that the members are exactly metadata.json, config.json,
    state.json and one .npy per declared array, each member's sizes (no zip bomb), each .npy
    header against its declared dtype and shape, and every member's CRC-32.
    """
    if expected_kind is not None:
        _check_kind("expected_kind", expected_kind)
    return _with_zip(path, lambda zf, shown, size: _read(zf, shown, size, expected_kind))


def is_archive(path) -> bool:
    """True if `path` is a ZIP whose metadata.json names the seqattn format (any version).

    Cheap: reads the ZIP directory and metadata.json only. False for a missing or unreadable
    file and for anything else; `read_archive` says why.
    """
    try:
        _with_zip(path, _read_metadata)
    except (OSError, FileFormatError):
        return False
    return True


def _with_zip(path, read):
    """Opens `path` as a ZIP and returns read(zipfile, shown_path, file_size), turning every
    low-level error about the content into a FileFormatError.

    The member checks should catch bad offsets first; EINVAL (a seek to an offset read from
    a damaged directory) is still treated as damage, other OSErrors are real I/O errors.
    """
    shown = os.fsdecode(path)
    if os.path.isdir(shown):
        raise IsADirectoryError(errno.EISDIR, "Is a directory, not a seqattn file", shown)
    with open(shown, "rb") as f:
        head = f.read(8)
        if not head.startswith(_ZIP_SIGNATURE):
            raise FileFormatError(f"{shown}: {_describe_foreign(head, f)}")
        size = f.seek(0, os.SEEK_END)
        f.seek(0)
        try:
            with zipfile.ZipFile(f) as zf:
                return read(zf, shown, size)
        except FileFormatError:
            raise
        except (*_DAMAGE, OSError) as e:
            if isinstance(e, OSError) and e.errno != errno.EINVAL:
                raise
            # zipfile may quote kilobytes of the damaged file in its message: cut it.
            detail = str(e) if len(str(e)) <= 300 else str(e)[:300] + " [...]"
            raise FileFormatError(f"{shown}: is truncated or corrupted "
                                  f"({type(e).__name__}: {detail})") from e


def _describe_foreign(head, f) -> str:
    size = f.seek(0, os.SEEK_END)
    if size == 0:
        return "is empty (0 bytes), not a seqattn file"
    if len(head) < len(_ZIP_SIGNATURE) and _ZIP_SIGNATURE.startswith(head):
        return f"is truncated ({size} bytes)"
    known = {b"\x89PNG": "a PNG image", b"\x93NUMPY": "a NumPy .npy file",
             b"\x89HDF": "an HDF5 file, such as a Keras .h5 file", b"PK\x05\x06": "an empty ZIP",
             b"\x80": "a Python pickle, which seqattn never loads"}
    what = next((w for magic, w in known.items() if head.startswith(magic)), "not a ZIP archive")
    return f"not a seqattn file ({what}; starts with {head!r})"


def _read_metadata(zf, shown, size) -> dict:
    """metadata.json, checked for the format name only (is_archive stops here)."""
    names = zf.namelist()
    if "metadata.json" not in names:
        looks = ("a NumPy .npz file" if names and all(n.endswith(".npy") for n in names)
                 else "a ZIP archive")
        raise FileFormatError(f"{shown}: not a seqattn file ({looks} without metadata.json)")
    metadata = _read_json(zf, "metadata.json", shown, size)
    if metadata.get("format") != FORMAT_NAME:
        looks = (f"a Keras file, keras_version {brief(metadata['keras_version'])}"
                 if "keras_version" in metadata else "metadata.json has no 'format': 'seqattn'")
        raise FileFormatError(f"{shown}: not a seqattn file ({looks})")
    return metadata


def _check_version(metadata, shown) -> None:
    """Before anything else about the file: a newer format may differ in every other way."""
    version = metadata.get("format_version")
    if not _is_int(version) or version < 1:
        raise FileFormatError(f"{shown}: metadata.json has an invalid format_version "
                              f"{brief(version)}")
    written_by = metadata.get("seqattn_version", "?")
    if version > FORMAT_VERSION:
        raise FileFormatError(
            f"{shown}: written by seqattn {brief(written_by, quote=False)} in file format "
            f"version {version}, but seqattn {_library_version()} reads versions up to "
            f"{FORMAT_VERSION}. Upgrade seqattn (pip install -U seqattn) to load it.")


def _read(zf, shown, size, expected_kind) -> Archive:
    metadata = _read_metadata(zf, shown, size)
    _check_version(metadata, shown)
    kind = metadata.get("kind")
    if kind not in KINDS:
        raise FileFormatError(f"{shown}: metadata.json has an invalid kind {brief(kind)}")
    for field in ("seqattn_version", "created"):  # informative only, but typed
        if not isinstance(metadata.get(field), str):
            raise FileFormatError(f"{shown}: metadata.json: `{field}` must be a string, "
                                  f"received {brief(metadata.get(field))}")
    if expected_kind is not None and kind != expected_kind:
        raise FileFormatError(f"{shown}: is a seqattn {kind} file, but a {expected_kind} file "
                              f"was expected")
    declared = _declared_arrays(metadata, shown)

    infos = zf.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise FileFormatError(f"{shown}: is corrupted (duplicate member names)")
    expected = set(_FIXED_MEMBERS) | {_member(name) for name in declared}
    extra, missing = sorted(set(names) - expected), sorted(expected - set(names))
    if extra:
        raise FileFormatError(f"{shown}: contains {len(extra)} undeclared member(s), such as "
                              f"{extra[0]!r}")
    if missing:
        raise FileFormatError(f"{shown}: is missing {len(missing)} member(s), such as "
                              f"{missing[0]!r}")
    for info in infos:
        _check_member(info, shown, size)

    config = _read_json(zf, "config.json", shown, size)
    state = _read_json(zf, "state.json", shown, size)
    arrays = {name: _read_array(zf, zf.getinfo(_member(name)), dtype, shape, shown)
              for name, (dtype, shape) in declared.items()}
    return Archive(kind=kind, metadata=metadata, config=config, state=state, arrays=arrays)


def _declared_arrays(metadata, shown) -> dict:
    """metadata["arrays"] as name -> (np.dtype, shape tuple), every entry checked."""
    entries = metadata.get("arrays")
    if not isinstance(entries, dict):
        raise FileFormatError(f"{shown}: metadata.json has no 'arrays' object")
    declared = {}
    for name, entry in entries.items():
        if not _valid_name(name):
            raise FileFormatError(f"{shown}: metadata.json declares an invalid array name "
                                  f"{brief(name)}")
        if not isinstance(entry, dict):
            raise FileFormatError(f"{shown}: metadata.json: array {name!r} must be described "
                                  f"by an object with 'dtype' and 'shape', received "
                                  f"{brief(entry)}")
        dtype, shape = entry.get("dtype"), entry.get("shape")
        if not isinstance(dtype, str) or dtype not in _DTYPES:  # a list is not even hashable
            raise FileFormatError(f"{shown}: array {name!r} has an unsupported dtype "
                                  f"{brief(dtype)}")
        if (not isinstance(shape, list) or len(shape) > _MAX_NDIM
                or not all(_is_int(n) and n >= 0 for n in shape)):
            raise FileFormatError(f"{shown}: array {name!r} has an invalid shape "
                                  f"{brief(shape)}")
        declared[name] = (_DTYPES[dtype], tuple(shape))
    return declared


def _check_member(info, shown, size) -> None:
    """Refuses encrypted or exotic members, offsets outside the file and impossible sizes
    (a zip bomb's) before reading the member."""
    if info.flag_bits & 0x1:
        raise FileFormatError(f"{shown}: member {info.filename!r} is encrypted")
    if info.compress_type not in _READABLE_COMPRESSION:
        raise FileFormatError(f"{shown}: member {info.filename!r} uses an unsupported "
                              f"compression method ({info.compress_type})")
    if not (0 <= info.header_offset and info.header_offset + 30 + info.compress_size <= size):
        raise FileFormatError(f"{shown}: member {info.filename!r} lies outside the file "
                              f"({size} bytes)")
    stored = info.compress_type == zipfile.ZIP_STORED
    if (stored and info.file_size != info.compress_size) or (
            info.file_size > _DEFLATE_MAX_RATIO * info.compress_size + 1024):
        raise FileFormatError(f"{shown}: member {info.filename!r} declares an impossible size "
                              f"({info.compress_size} bytes expanding to {info.file_size})")


def _read_json(zf, member, shown, size) -> dict:
    info = zf.getinfo(member)
    if info.file_size > _MAX_JSON_BYTES:
        raise FileFormatError(f"{shown}: {member} is too large ({info.file_size} bytes)")
    _check_member(info, shown, size)
    data = zf.read(info)  # checks the CRC
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as e:
        raise FileFormatError(f"{shown}: {member} is not valid JSON ({e})") from e
    if not isinstance(value, dict):
        raise FileFormatError(f"{shown}: {member} is not a JSON object")
    return value


def _unique_keys(pairs) -> dict:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise ValueError("duplicate keys")
    return value


def _read_array(zf, info, dtype, shape, shown) -> np.ndarray:
    """One .npy member: sizes and header checked against the declaration before anything is
    allocated; the data is read as raw bytes of the declared dtype (an object dtype never
    gets that far), so nothing is ever unpickled."""
    member = info.filename
    nbytes = dtype.itemsize * math.prod(shape)
    if not nbytes < info.file_size <= nbytes + _MAX_NPY_HEADER:
        raise FileFormatError(f"{shown}: {member} has {info.file_size} bytes, but a {dtype} "
                              f"array of shape {shape} needs {nbytes} plus a header")
    with zf.open(info) as f:
        version = npy_format.read_magic(f)
        if version == (1, 0):
            header = npy_format.read_array_header_1_0(f)
        elif version == (2, 0):
            header = npy_format.read_array_header_2_0(f)
        else:
            raise FileFormatError(f"{shown}: {member} has an unsupported .npy version {version}")
        stored_shape, fortran_order, stored_dtype = header
        if stored_dtype != dtype or stored_shape != shape or fortran_order:
            order = ", Fortran order" if fortran_order else ""
            raise FileFormatError(
                f"{shown}: {member} holds a {stored_dtype} array of shape {stored_shape}{order}, "
                f"but metadata.json declares {dtype} {shape}")
        if f.tell() + nbytes != info.file_size:
            raise FileFormatError(f"{shown}: {member} has {info.file_size - f.tell() - nbytes} "
                                  f"bytes more than its header implies")
        # The data follows the header in the same stream: read it straight into the array's
        # buffer (one allocation of the checked size, no second parse of the header), exactly
        # to the member's end, where zipfile checks the CRC-32.
        buffer = bytearray(nbytes)
        view, done = memoryview(buffer), 0
        while done < nbytes:
            got = f.readinto(view[done:])
            if not got:
                raise FileFormatError(f"{shown}: {member} ends {nbytes - done} bytes early")
            done += got
        if f.read(1):
            raise FileFormatError(f"{shown}: {member} is longer than its directory entry says")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape)


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


__all__ = ["Archive", "FORMAT_NAME", "FORMAT_VERSION", "FileFormatError", "is_archive",
           "read_archive", "write_archive"]
