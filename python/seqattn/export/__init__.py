"""Export a seqattn model to other runtimes: `to_onnx` writes a standard ONNX graph.

`import seqattn` never imports this package's ONNX code (nor the `onnx` package): it loads
when `to_onnx` or `Model.export` is called. onnx and onnxruntime are the optional extra
`seqattn[onnx]`.
"""

from __future__ import annotations

DEFAULT_OPSET = 17


def to_onnx(model, path, opset=DEFAULT_OPSET):
    """Writes `model` (built, functional or Sequential) to the ONNX file `path` and, when the
    model starts with a TextVectorization, its vocabulary to `<path stem>.vocabulary.json`.

    The graph has a dynamic batch axis, runs every layer in inference mode (Dropout is the
    identity) and computes the padding masks as seqattn does (Embedding(mask_zero=True),
    attention masks, causal attention, mask-aware pooling). Returns the list of files
    written. Raises ImportError naming the `seqattn[onnx]` extra when `onnx` is missing,
    ValueError naming the layer for what ONNX export does not cover.
    """
    from .onnx_export import export_model
    return export_model(model, path, opset)


__all__ = ["DEFAULT_OPSET", "to_onnx"]
