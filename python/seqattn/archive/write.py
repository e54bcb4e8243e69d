"""Writing an archive: JSON and .npy members into a temporary file beside the target, fsync,
then an atomic rename; temporary files of dead writers removed."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import socket
import stat
import time
import zipfile
from datetime import datetime, timezone

import numpy as np
from numpy.lib import format as npy_format

from .format import (
    FORMAT_NAME, FORMAT_VERSION, KINDS, _COMPRESSION, _DTYPES, _FIXED_MEMBERS,
    _FOREIGN_TEMP_AGE, _MAX_JSON_BYTES, _MAX_NAME, _MAX_NDIM, _member, _valid_name)


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


def _zip_info(member) -> zipfile.ZipInfo:
    # A fixed 1980-01-01 timestamp (ZipInfo's default): same content, same bytes, apart from
    # metadata["created"].
    info = zipfile.ZipInfo(member)
    info.compress_type = _COMPRESSION
    info.external_attr = 0o644 << 16  # what `unzip` gives the extracted file
    return info


def _library_version() -> str:
    from .. import __version__  # at call time: this module loads while seqattn is importing
    return __version__


def _replace_atomically(path, write_members) -> None:
    """Writes a ZIP with `write_members(zipfile)` to a temp file, then os.replace()s it."""

    def write(f):
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

    replace_file_atomically(path, write, "save")


def replace_file_atomically(path, write, verb="save") -> str:
    """Writes a file with `write(binary file object)` into a temp file beside `path`, fsyncs
    it, then os.replace()s the target (and fsyncs the directory): an interrupted write leaves
    any earlier file intact. Returns the path as given (a str)."""
    shown = os.fsdecode(path)
    if os.path.isdir(shown):
        raise IsADirectoryError(errno.EISDIR, f"Is a directory, cannot {verb} over it", shown)
    target = os.path.realpath(shown)  # write through a symlink, as open(path, "wb") would
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"No such directory to {verb} into",
                                os.path.dirname(shown) or directory)
    _remove_stale_temps(target)
    fd, temp = _create_temp(target)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
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
    return shown


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
