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

from .format import (  # noqa: F401
    Archive, FORMAT_NAME, FORMAT_VERSION, FileFormatError, KINDS, _MAX_NDIM, brief)
from .write import _host_tag, write_archive  # noqa: F401
from .read import is_archive, read_archive

__all__ = ["Archive", "FORMAT_NAME", "FORMAT_VERSION", "FileFormatError", "is_archive",
           "read_archive", "write_archive"]
