"""Atomic writes of export files: a temp file beside the target, fsync, os.replace, as the
.seqattn archives are written (archive/write.py), so an interrupted export leaves any earlier
file intact."""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from ..archive.write import _create_temp, _fsync_directory, _remove_stale_temps


def write_bytes_atomically(path, data: bytes) -> str:
    shown = os.fsdecode(path)
    if os.path.isdir(shown):
        raise IsADirectoryError(errno.EISDIR, "Is a directory, cannot export over it", shown)
    target = os.path.realpath(shown)
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, "No such directory to export into",
                                os.path.dirname(shown) or directory)
    _remove_stale_temps(target)
    fd, temp = _create_temp(target)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(directory)
    return shown
