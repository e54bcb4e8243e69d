"""The TextVectorization vocabulary beside an exported ONNX graph.

ONNX has no standard tokenizer, so the graph starts from token ids; this JSON file holds
what turns text into those ids: per graph input, the vectorizer's config (vocabulary
included, id i = vocabulary[i]; 0 = padding, 1 = "[UNK]"). `text_vectorizers(path)` rebuilds
the seqattn layers from it, so `vectorizer(texts)` gives the ids the graph expects.
A vectorizer that splits with a SubwordTokenizer has its trained HuggingFace tokenizer in
`config.split.config.tokenizer` (the JSON text `tokenizers.Tokenizer.from_str` reads), so
another language's `tokenizers` binding can split the standardized text the same way.
"""

from __future__ import annotations

import json
import os

FORMAT = "seqattn-vocabulary"
VERSION = 1


def vocabulary_path(onnx_path) -> str:
    """`model.onnx` -> `model.vocabulary.json` (beside the graph)."""
    path = os.fsdecode(onnx_path)
    stem = path[:-5] if path.lower().endswith(".onnx") else path
    return stem + ".vocabulary.json"


def vocabulary_document(vectorizers: dict) -> bytes:
    """{graph input name: TextVectorization} -> the JSON file's bytes."""
    inputs = {}
    for name, layer in vectorizers.items():
        config = layer.get_config()
        for arg in ("standardize", "split"):
            if callable(config[arg]):
                raise ValueError(
                    f"ONNX export: TextVectorization '{layer.name}' uses a Python function as "
                    f"`{arg}`, which a JSON vocabulary file cannot hold; use one of the named "
                    "settings, or vectorize the texts yourself and export a model on ids.")
        inputs[name] = {"class_name": "TextVectorization", "config": config,
                        "vocabulary_size": layer.vocabulary_size()}
    doc = {"format": FORMAT, "version": VERSION,
           "note": "The ONNX graph takes token ids (int32, shape (B, L)); these vectorizers "
                   "make them from text: id i is vocabulary[i], 0 is padding, 1 is [UNK]. A "
                   "split of class SubwordTokenizer holds a HuggingFace tokenizers JSON "
                   "(Tokenizer.from_str) that splits the standardized text into tokens.",
           "inputs": inputs}
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def text_vectorizers(path) -> dict:
    """{graph input name: seqattn TextVectorization} from a vocabulary file."""
    from ..layers import TextVectorization
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{os.fsdecode(path)!r} is not a seqattn vocabulary file (its "
                         f"'format' should be {FORMAT!r}).")
    if doc.get("version") != VERSION:
        raise ValueError(f"{os.fsdecode(path)!r}: vocabulary file version "
                         f"{doc.get('version')!r}; this seqattn reads version {VERSION}.")
    return {name: TextVectorization.from_config(entry["config"])
            for name, entry in doc["inputs"].items()}
