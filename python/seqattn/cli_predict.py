"""`python -m seqattn predict`: classify texts with a saved model, from the command line, a CSV
file or standard input.

    python -m seqattn predict model.seqattn "a gripping film" "a dull one"
    python -m seqattn predict model.seqattn --input reviews.csv --text-column review \\
        --output predictions.csv
    cat reviews.txt | python -m seqattn predict model.seqattn --input -

Texts on the command line print one line each (label, probability, text, and the most-attended
tokens). With --input, the output is a CSV (to --output, written atomically, or to standard
output): row, label, probability, attended, flag, text. A text with no token the model knows
(every word out of its vocabulary) is flagged `no_known_tokens` with an empty label: the model
would only return its bias for it, and calling that "positive 0.500" would be a guess.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys

import numpy as np

NO_KNOWN_TOKENS = "no_known_tokens"


def add_parser(sub) -> None:
    predict = sub.add_parser(
        "predict", help="classify texts with a saved model",
        description="The label, its probability and the most-attended tokens for each text, "
                    "using a model saved by `train` (texts given as arguments, or --input).")
    predict.add_argument("model", help="a .seqattn file written by `train` or model.save()")
    predict.add_argument("texts", nargs="*", help="texts to classify (quote each one)")
    predict.add_argument("--input", default=None, metavar="PATH",
                         help="a CSV file with a header row (the texts in --text-column), or - "
                              "for one text per line on standard input")
    predict.add_argument("--text-column", default="text", metavar="NAME",
                         help="the CSV column holding the texts (default: text)")
    predict.add_argument("--output", default=None, metavar="PATH",
                         help="with --input: write the CSV here (default: standard output)")
    predict.add_argument("--top", type=positive_int, default=5,
                         help="how many attended tokens to show (default: 5)")


def positive_int(text):
    """argparse type: an integer >= 1 (the message names the flag through argparse)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}")
    return value


# ----------------------------------------------------------------------------- reading
def read_texts(args) -> list[str]:
    """The texts to classify; errors name the CLI flag."""
    if args.input is None:
        if not args.texts:
            raise ValueError("predict: give texts as arguments, or --input PATH (a CSV file, "
                             "or - for one text per line on standard input).")
        if args.output is not None:
            raise ValueError("--output writes the CSV of --input; texts given as arguments "
                             "print to the terminal.")
        return list(args.texts)
    if args.texts:
        raise ValueError("predict: give texts as arguments or --input, not both.")
    if args.input == "-":
        texts = [line.rstrip("\r\n") for line in sys.stdin]
        texts = [t for t in texts if t.strip()]
        if not texts:
            raise ValueError("--input -: standard input holds no text (one text per line).")
        return texts
    if not os.path.isfile(args.input):
        raise ValueError(f"--input {args.input}: no such file.")
    csv.field_size_limit(sys.maxsize)
    with open(args.input, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        if args.text_column not in columns:
            shown = ", ".join(columns) if columns else "none: the file is empty"
            raise ValueError(f"--text-column {args.text_column!r} is not a column of "
                             f"{args.input} (its header has: {shown}).")
        texts = []
        for line, row in enumerate(reader, start=2):
            text = row.get(args.text_column)
            if text is None:
                raise ValueError(f"--input {args.input}, line {line}: the row has no value in "
                                 f"--text-column {args.text_column!r}.")
            texts.append(text)
    if not texts:
        raise ValueError(f"--input {args.input}: the file has a header but no rows.")
    return texts


# ----------------------------------------------------------------------------- predicting
def predict(args) -> int:
    import seqattn
    from .layers import MultiHeadAttention
    from .text import TextVectorization
    texts = read_texts(args)
    model = seqattn.load_model(args.model)
    vectorizers = [l for l in model.layers if isinstance(l, TextVectorization)]
    if model.inputs[0].dtype != "string" or not vectorizers:
        raise ValueError(f"{args.model}: this model reads token ids, not text; `predict` needs "
                         "a model whose first stage is a TextVectorization (as `train` builds).")
    # ids 0 (padding) and 1 ([UNK]) only: the text holds no token the model knows
    known = np.any(np.asarray(vectorizers[0](texts)) > 1, axis=1)
    probs = np.asarray(model.predict(texts, verbose=0))
    has_attention = any(isinstance(n.layer, MultiHeadAttention) for n in model._nodes)
    rows = []
    for b, text in enumerate(texts):
        if not known[b]:
            rows.append(("", None, "", NO_KNOWN_TOKENS, text))
            continue
        label, confidence = _label(probs[b])
        attended = _top_tokens(model, text, args.top) if has_attention else ""
        rows.append((label, confidence, attended, "", text))
    if args.input is None:
        for label, confidence, attended, flag, text in rows:
            if flag:
                print(f"{flag}\t-\t{text}")
                continue
            print(f"{label}\t{confidence:.3f}\t{text}")
            if attended:
                print("    attended: " + attended)
        return 0
    _write_csv(args.output, rows)
    if args.output is not None:
        flagged = sum(1 for r in rows if r[3])
        print(f"{len(rows):,} texts classified into {args.output}"
              + (f"; {flagged:,} flagged {NO_KNOWN_TOKENS}" if flagged else ""), file=sys.stderr)
    return 0


def _label(p):
    if p.shape[-1] == 1:
        q = float(p[0])
        return ("positive", q) if q >= 0.5 else ("negative", 1.0 - q)
    k = int(np.argmax(p))
    return f"class {k}", float(p[k])


def _write_csv(path, rows) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["row", "label", "probability", "attended", "flag", "text"])
    for i, (label, confidence, attended, flag, text) in enumerate(rows):
        writer.writerow([i, label, "" if confidence is None else f"{confidence:.6f}", attended,
                         flag, text])
    if path is None:
        sys.stdout.write(buffer.getvalue())
        return
    from .archive.write import replace_file_atomically
    data = buffer.getvalue().encode("utf-8")
    try:
        replace_file_atomically(path, lambda f: f.write(data), "write")
    except OSError as e:
        raise ValueError(f"--output {path}: {e.strerror or e}") from None


def _top_tokens(model, text, top):
    """The `top` tokens the last attention layer looked at most (see importance.py)."""
    from .importance import token_importance
    try:
        tokens, importances, _ = token_importance(model, text)
    except ValueError:  # no known token in the text
        return ""
    order = np.argsort(-importances, kind="stable")[:top]
    return ", ".join(f"{tokens[i]} ({importances[i]:.2f})" for i in order)
