"""Reading an archive: data only, every size, name, dtype and shape checked against the
metadata before anything is allocated; every problem a FileFormatError naming the file."""

from __future__ import annotations

import errno
import json
import math
import os
import zipfile

import numpy as np
from numpy.lib import format as npy_format

from .format import (
    Archive, FORMAT_NAME, FORMAT_VERSION, FileFormatError, KINDS, _DAMAGE, _DEFLATE_MAX_RATIO,
    _DTYPES, _FIXED_MEMBERS, _MAX_JSON_BYTES, _MAX_NDIM, _MAX_NPY_HEADER,
    _READABLE_COMPRESSION, _ZIP_SIGNATURE, _is_int, _member, _valid_name, brief)
from .write import _check_kind, _library_version


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
