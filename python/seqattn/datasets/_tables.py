"""Labelled texts from a CSV or TSV file with a header row: `load_csv`, `load_tsv`.

Labels (the same rule everywhere in `seqattn.datasets`):

- a non-negative integer written in decimal digits (``0``, ``1``, ``2`` ...): that class id;
  a file with K classes should use 0..K-1 (the number of classes is taken as max + 1);
- the words ``pos``/``positive`` -> 1 and ``neg``/``negative`` -> 0 (any case). A file may
  mix them with ``0``/``1``, but a word label makes the task binary, so it may not be mixed
  with an integer label of 2 or more.

Surrounding spaces are ignored; anything else (``-1``, ``1.0``, ``yes``, an empty field) is
a ValueError naming the file, the line and the value.
"""

from __future__ import annotations

import csv
import io
import os

from ._common import decode, labels_array, where

_WORDS = {"pos": 1, "positive": 1, "neg": 0, "negative": 0}


class _LabelParser:
    """Maps label strings to ints with the rule above; remembers where words and big ints
    appeared, to reject a file that mixes them."""

    def __init__(self, path):
        self.path = path
        self.cache = {}
        self.word_line = None      # first line with a word label
        self.big_line = None       # first line with an integer label >= 2
        self.big_value = None

    def __call__(self, raw, line):
        parsed = self.cache.get(raw)
        if parsed is None:
            parsed = self.cache[raw] = self._parse(raw, line)
        value, is_word = parsed
        if is_word:
            if self.word_line is None:
                self.word_line = line
        elif value >= 2 and self.big_line is None:
            self.big_line, self.big_value = line, raw.strip()
        return value

    def _parse(self, raw, line):
        s = raw.strip()
        if s.isascii() and s.isdigit() and int(s) < 2**31:
            return int(s), False
        word = _WORDS.get(s.lower())
        if word is not None:
            return word, True
        if s == "":
            problem = "the label is empty"
        elif s.isascii() and s.isdigit():
            problem = f"the label {s!r} is too large for a class id"
        elif s.lstrip("+-").isascii() and s.lstrip("+-").isdigit():
            problem = f"the label {s!r} is not a non-negative integer"
        else:
            problem = f"the label {s!r} is not a class id"
        raise ValueError(
            f"{where(self.path, line)}: {problem}. Labels must be integers 0..K-1 or one of "
            "pos/neg/positive/negative (positive = 1, negative = 0).")

    def finish(self):
        if self.word_line is not None and self.big_line is not None:
            raise ValueError(
                f"{where(self.path, self.big_line)}: the label {self.big_value!r} is a class id "
                f"of 2 or more, but line {self.word_line} uses a pos/neg word, which only a "
                "binary (0/1) file may use. Use integer class ids 0..K-1 throughout.")


def _load_table(path, text_column, label_column, delimiter, quoting, encoding, kind):
    for name, value in (("text_column", text_column), ("label_column", label_column)):
        if not isinstance(value, str):
            raise TypeError(f"Expected a column name (str) for `{name}`. Received: "
                            f"{name}={value!r}")
    if text_column == label_column:
        raise ValueError(f"`text_column` and `label_column` are the same column "
                         f"({text_column!r}).")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"Expected a one-character string for `delimiter`. Received: "
                         f"delimiter={delimiter!r}")
    path = os.fspath(path)
    with open(path, "rb") as f:
        text = decode(f.read(), path, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting,
                        strict=True)
    line = 1
    try:
        header = next(reader, None)
        while header == []:             # blank lines before the header
            line = reader.line_num + 1
            header = next(reader, None)
    except csv.Error as e:
        raise ValueError(f"{where(path, line)}: malformed {kind} header ({e}).") from None
    if header is None:
        raise ValueError(f"{where(path, 1)}: the file is empty; a {kind} file needs a header "
                         f"row naming its columns (e.g. {text_column}{delimiter}{label_column}).")
    header_line = line
    columns = {}
    for i, name in enumerate(header):
        columns.setdefault(name.strip(), []).append(i)
    indices = []
    for what, name in (("text", text_column), ("label", label_column)):
        found = columns.get(name)
        if not found:
            raise ValueError(
                f"{where(path, header_line)}: the header has no {what} column {name!r}. "
                f"Available columns: {', '.join(repr(h) for h in header)}. Pass "
                f"{what}_column='<name>'.")
        if len(found) > 1:
            raise ValueError(f"{where(path, header_line)}: the header names the column "
                             f"{name!r} {len(found)} times.")
        indices.append(found[0])
    ti, li = indices
    width = len(header)
    texts, labels = [], []
    parse = _LabelParser(path)
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise ValueError(f"{where(path, line)}: malformed {kind} row ({e}).") from None
        if len(row) != width:
            if not row:
                continue                # a blank line
            raise ValueError(
                f"{where(path, line)}: the row has {len(row)} field(s) but the header has "
                f"{width} ({', '.join(repr(h) for h in header)})."
                + (" A TSV field cannot hold a TAB." if kind == "TSV" else
                   " A field that holds the delimiter must be quoted."))
        texts.append(row[ti])
        labels.append(parse(row[li], line))
    if not texts:
        raise ValueError(f"{where(path, header_line)}: the file has a header but no data rows.")
    parse.finish()
    return texts, labels_array(labels)


def load_csv(path, text_column="text", label_column="label", delimiter=None, encoding="utf-8"):
    """Texts and integer labels from a CSV file with a header row.

    The file follows RFC 4180 as Python's `csv` module writes it (QUOTE_MINIMAL): a field
    that holds the delimiter, a quote or a newline is wrapped in ``"``, and a ``"`` inside it
    is doubled. Quoting errors (a field that opens a quote and never closes it, text after a
    closing quote) are reported, not guessed around; a ``"`` inside an unquoted field is
    kept as text, as Python's `csv` reads it. Texts are returned exactly as written (not
    stripped); blank lines are skipped; a UTF-8 byte-order mark is ignored. The whole file
    is read at once (the 33 MB IMDB CSV loads in about 0.6 s).

    Args:
        path: the file.
        text_column, label_column: header names of the two columns used (others are
            ignored).
        delimiter: one character; None means ``","`` (``"\\t"`` if the file name ends in
            ``.tsv`` or ``.tab``).
        encoding: the file's text encoding.

    Labels: integers 0..K-1, or pos/positive (1) and neg/negative (0); see
    `seqattn.datasets` for the full rule.

    Returns:
        ``(texts, labels)``: a list of str and an int32 NumPy array.

    Raises:
        ValueError naming the file and the 1-based line for an empty or header-only file, a
        missing column (listing the available ones), a row with the wrong number of fields,
        bad quoting, a bad label or bytes that are not valid in ``encoding``.
    """
    if delimiter is None:
        name = os.fspath(path).lower()
        delimiter = "\t" if name.endswith((".tsv", ".tab")) else ","
    return _load_table(path, text_column, label_column, delimiter, csv.QUOTE_MINIMAL,
                       encoding, "CSV")


def load_tsv(path, text_column="sentence", label_column="label", encoding="utf-8"):
    """Texts and integer labels from a tab-separated file with a header row (e.g. GLUE).

    Fields are separated by TABs with no quoting at all (QUOTE_NONE): ``"`` is ordinary
    text, as in the GLUE files, so a text cannot hold a TAB or a newline. Texts are returned
    exactly as written (GLUE's trailing space before the TAB is kept: `sst2.load_data`
    strips it). Labels follow the same rule as `load_csv`.

    Returns:
        ``(texts, labels)``: a list of str and an int32 NumPy array.

    Raises:
        ValueError naming the file and the 1-based line, as `load_csv`.
    """
    return _load_table(path, text_column, label_column, "\t", csv.QUOTE_NONE, encoding, "TSV")
