"""Atomic writes of export files: a temp file beside the target, fsync, os.replace, as the
.seqattn archives are written (archive/write.py), so an interrupted export leaves any earlier
file intact."""

from __future__ import annotations

from ..archive.write import replace_file_atomically


def write_bytes_atomically(path, data: bytes) -> str:
    return replace_file_atomically(path, lambda f: f.write(data), "export")
