"""Helpers shared by the dataset loaders: decoding with line numbers, line splitting, finding
a dataset's folder, argument checks.

Every error about a file's content is a ValueError that names the file and the line, 1-based
as an editor shows it: ``"'<file>', line 12: <problem>"``.
"""

from __future__ import annotations

import codecs
import numbers
import os

import numpy as np

#: Environment variable naming a folder that holds one sub-folder per dataset
#: (``sst2/``, ``mr/``, ``sentiment_labelled_sentences/``), used when ``path=None``.
DATA_ENV = "SEQATTN_DATA"


def where(path, line=None):
    """``'<path>', line <n>`` for error messages."""
    return f"'{os.fspath(path)}'" + ("" if line is None else f", line {line}")


def line_of_offset(data: bytes, offset: int, encoding: str = "utf-8") -> int:
    """1-based line number of byte ``offset`` in ``data`` (lines end at ``\\n``)."""
    if encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig", "ascii",
                                                               "latin1", "cp1252"):
        return data.count(b"\n", 0, offset) + 1
    return data[:offset].decode(encoding, errors="replace").count("\n") + 1


def decode(data: bytes, path, encoding: str = "utf-8") -> str:
    """Decode a whole file's bytes; a leading UTF-8 byte-order mark is dropped.

    Undecodable bytes raise a ValueError naming the file, the line, the byte and its offset.
    """
    if data.startswith(codecs.BOM_UTF8) and codecs.lookup(encoding).name == "utf-8":
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = line_of_offset(data, e.start, encoding)
        raise ValueError(
            f"{where(path, line)}: the file is not valid {encoding} (byte "
            f"0x{data[e.start]:02x} at byte offset {e.start}: {e.reason}). Pass the file's "
            "real encoding, or convert it to UTF-8.") from None


def read_text(path, encoding: str = "utf-8") -> str:
    with open(path, "rb") as f:
        return decode(f.read(), path, encoding)


def split_lines(text: str):
    """Yields (1-based line number, line) split at ``\\n`` only, a trailing ``\\r`` removed.

    ``str.splitlines`` would also split at U+2028, U+0085, ``\\x0b``, ``\\x0c``, ``\\x1c``...
    which occur inside real sentences; these files separate records by ``\\n`` alone.
    A final newline does not start an extra (empty) line.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        if line.endswith("\r"):
            line = line[:-1]
        yield number, line


def tab_labelled(path, lines):
    """(texts, 0/1 labels) from numbered ``sentence<TAB>0|1`` lines (from split_lines): blank
    lines are skipped, each line splits on its LAST tab (quotes are ordinary text), the text
    loses trailing spaces; a line without a tab or with another label raises, naming the file
    and the line."""
    texts, labels = [], []
    for number, line in lines:
        if not line.strip():
            continue
        sentence, tab, label = line.rpartition("\t")
        if not tab:
            raise ValueError(f"{where(path, number)}: no TAB between the sentence and the "
                             f"label in {line[:80]!r}.")
        label = label.strip()
        if label not in ("0", "1"):
            raise ValueError(f"{where(path, number)}: the label {label[:20]!r} is not 0 or 1.")
        texts.append(sentence.rstrip())
        labels.append(label == "1")
    return texts, labels


def labels_array(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int32).reshape(-1)


def find_dataset_dir(name: str, path, files, subdirs, origin: str) -> str:
    """The folder holding all of ``files`` for dataset ``name``.

    ``path`` may be that folder, a parent holding it as one of ``subdirs``, or one of the
    files itself. ``path=None`` looks in ``$SEQATTN_DATA/<subdir>/``. Otherwise a
    FileNotFoundError says where the files are expected and where they come from.
    """
    files = tuple(files)
    listed = ", ".join(files)

    def holds(folder):
        return all(os.path.isfile(os.path.join(folder, f)) for f in files)

    if path is None:
        root = os.environ.get(DATA_ENV)
        if not root:
            raise FileNotFoundError(
                f"The {name} files ({listed}) were not found: no path was given and the "
                f"environment variable {DATA_ENV} is not set. Pass path='<folder with "
                f"{files[0]}>', or set {DATA_ENV} to a folder that holds a '{subdirs[0]}/' "
                f"folder with the files. The data comes from {origin}")
        candidates = [os.path.join(root, s) for s in subdirs]
        for c in candidates:
            if holds(c):
                return c
        raise FileNotFoundError(
            f"The {name} files ({listed}) were not found in "
            f"{' or '.join(repr(c) for c in candidates)} ({DATA_ENV}={root!r}). Put them "
            f"there or pass path='<folder with {files[0]}>'. The data comes from {origin}")
    path = os.fspath(path)
    if os.path.isfile(path):
        parent = os.path.dirname(path) or "."
        if os.path.basename(path) in files:
            if holds(parent):
                return parent
            missing = [f for f in files if not os.path.isfile(os.path.join(parent, f))]
            raise FileNotFoundError(
                f"{name}: {path!r} was given, but {', '.join(missing)} is not beside it. "
                f"Pass the folder that holds {listed}. The data comes from {origin}")
        raise FileNotFoundError(
            f"{name} expects path= to be the folder that holds {listed}; received the file "
            f"{path!r}. The data comes from {origin}")
    if not os.path.isdir(path):
        raise FileNotFoundError(
            f"{name}: no such folder {path!r}. Pass the folder that holds {listed}. The "
            f"data comes from {origin}")
    if holds(path):
        return path
    for s in subdirs:
        if holds(os.path.join(path, s)):
            return os.path.join(path, s)
    missing = [f for f in files if not os.path.isfile(os.path.join(path, f))]
    raise FileNotFoundError(
        f"{name}: the folder {path!r} does not hold {', '.join(missing)} (nor does a "
        f"{' or '.join(repr(s + '/') for s in subdirs)} folder inside it). Pass the folder "
        f"that holds {listed}. The data comes from {origin}")


def check_int(name, value, minimum=None, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or (
            minimum is not None and value < minimum):
        expected = "an integer" if minimum is None else (
            "a positive integer" if minimum == 1 else f"an integer >= {minimum}")
        if allow_none:
            expected += " or None"
        raise ValueError(f"Expected {expected} for `{name}`. Received: {name}={value!r}")
    return int(value)
