"""Padding masks at model definition: which layers pass a mask on, and the Keras warning when
one reaches a layer that cannot use it (Flatten). Also Flatten's forward and backward."""

import warnings

import numpy as np
import pytest

import seqattn
import reference as ref
from conftest import run_layer
from seqattn import layers

T, C, V = 6, 4, 20

MASK_WARNING = (r"Layer 'flat' \(of type Flatten\) was passed an input with a mask attached to "
                r"it\. However, this layer does not support masking")


def _masked_tokens(mask_zero=True):
    ids = seqattn.Input((T,), dtype="int32")
    return ids, layers.Embedding(V, C, mask_zero=mask_zero)(ids)


# --------------------------------------------------------------------------- Flatten
@pytest.mark.parametrize("shape", [(2, 3), (3, 5, 4), (2, 3, 4, 5), (1, 1, 1)])
def test_flatten_forward_and_backward_are_a_row_major_reshape(rng, shape):
    layer = layers.Flatten()
    x = rng.standard_normal(shape).astype(np.float32)
    assert layer(x).shape == (shape[0], int(np.prod(shape[1:])))
    dy = rng.standard_normal((shape[0], int(np.prod(shape[1:])))).astype(np.float32)
    r = run_layer(layer, [x], dy=dy)
    np.testing.assert_array_equal(r["y"], x.reshape(shape[0], -1))
    np.testing.assert_array_equal(r["dx"][0], dy.reshape(shape))
    assert r["grads"] == []
    assert r["mask"] is None


def test_flatten_output_shape_and_errors():
    _, tokens = _masked_tokens(mask_zero=False)
    assert layers.Flatten()(tokens).shape == (None, T * C)
    unknown = layers.Embedding(V, C)(seqattn.Input((None,), dtype="int32"))
    flat = layers.Flatten()(unknown)
    assert flat.shape == (None, None)
    with pytest.raises(ValueError, match=r"last dimension of the inputs to a Dense layer should be "
                                         r"defined\. Found None"):
        layers.Dense(1)(flat)
    with pytest.raises(ValueError, match="float32 features"):
        layers.Flatten()(seqattn.Input((T,), dtype="int32"))
    with pytest.raises(ValueError, match=r"Input 0 of layer 'flatten_bad'.*received input with "
                                         r"shape \(None,\)"):
        layers.Flatten(name="flatten_bad")(np.zeros((3,), np.float32))
    assert layers.Flatten(name="f").get_config() == {"name": "f"}


def test_flatten_model_learns_a_position_dependent_rule():
    """Embedding -> Flatten -> Dense sees positions (pooling does not): label = token at
    position 0 is in the upper half of the vocabulary."""
    seqattn.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, V, (512, T)).astype(np.int32)
    y = (ids[:, 0] >= V // 2).astype(np.float32)
    inp = seqattn.Input((T,), dtype="int32")
    out = layers.Dense(1, activation="sigmoid")(layers.Flatten()(layers.Embedding(V, 8)(inp)))
    model = seqattn.Model(inp, out)
    model.compile(optimizer=seqattn.optimizers.Adam(0.02), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(ids, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.95


# ------------------------------------------------------------ the warning (Keras 3 text)
def test_a_mask_reaching_flatten_warns_like_keras_and_is_dropped():
    ids, tokens = _masked_tokens()
    with pytest.warns(UserWarning, match=MASK_WARNING) as record:
        flat = layers.Flatten(name="flat")(tokens)
    assert record[0].filename == __file__  # points at the user's line, not at seqattn
    assert not flat.has_mask
    model = seqattn.Model(ids, layers.Dense(1)(flat))
    # At run time the padded steps still contribute (the mask is gone, as the warning says).
    x = np.array([[3, 4, 0, 0, 0, 0]], np.int32)
    w = model.get_layer("flat")
    assert w is not None and model.predict(x, verbose=0).shape == (1, 1)


def test_the_warning_also_comes_from_a_sequential_model():
    model = seqattn.Sequential([seqattn.Input((T,), dtype="int32"),
                                layers.Embedding(V, C, mask_zero=True)])
    with pytest.warns(UserWarning, match=MASK_WARNING):
        model.add(layers.Flatten(name="flat"))


def test_the_warning_names_the_layer_after_a_masked_merge():
    ids, tokens = _masked_tokens()
    plain = layers.Embedding(V, C)(ids)
    merged = layers.Add()([plain, tokens])  # Add keeps the mask of the input that has one
    assert merged.has_mask
    with pytest.warns(UserWarning, match=MASK_WARNING):
        layers.Flatten(name="flat")(merged)


def test_no_warning_where_the_mask_is_used_or_absent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ids, tokens = _masked_tokens()
        h = tokens
        for _ in range(3):
            h = layers.TransformerEncoder(8, 2)(h)
        assert h.has_mask  # the padding mask survives every block ...
        pooled = layers.GlobalAveragePooling1D()(h)
        assert not pooled.has_mask  # ... and is used up by the pooling
        layers.Flatten()(layers.Dense(3)(pooled))  # no mask left: no warning
        _, plain = _masked_tokens(mask_zero=False)
        layers.Flatten()(plain)


# ---------------------------------------- Python's mask bookkeeping agrees with the C++ core
_MAKERS = {
    "Dense": lambda: layers.Dense(3),
    "LayerNormalization": lambda: layers.LayerNormalization(),
    "Dropout": lambda: layers.Dropout(0.5),
    "Activation": lambda: layers.Activation("relu"),
    "PositionEmbedding": lambda: layers.PositionEmbedding(T),
    "SinePositionEncoding": lambda: layers.SinePositionEncoding(),
    "GlobalAveragePooling1D": lambda: layers.GlobalAveragePooling1D(),
    "GlobalMaxPooling1D": lambda: layers.GlobalMaxPooling1D(),
    "Flatten": lambda: layers.Flatten(),
    "MultiHeadAttention": lambda: layers.MultiHeadAttention(2, 2),
    "Add": lambda: layers.Add(),
    "Conv1D": lambda: layers.Conv1D(3, 2, padding="same"),
    "MaxPooling1D": lambda: layers.MaxPooling1D(),
    "AveragePooling1D": lambda: layers.AveragePooling1D(3, strides=1, padding="same"),
    # merge and shape layers
    "Subtract": lambda: layers.Subtract(),
    "Multiply": lambda: layers.Multiply(),
    "Average": lambda: layers.Average(),
    "Maximum": lambda: layers.Maximum(),
    "Minimum": lambda: layers.Minimum(),
    "Concatenate": lambda: layers.Concatenate(),
    "Concatenate1": lambda: layers.Concatenate(axis=1),
    "Reshape": lambda: layers.Reshape((-1, C)),
    "Permute": lambda: layers.Permute((2, 1)),
}
_LIST_LAYERS = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
                "Concatenate1")
_CASES = [(name, masked) for name in _MAKERS
          for masked in ([(True, False), (False, True), (True, True), (False, False)]
                         if name in _LIST_LAYERS else [(True,), (False,)])]


@pytest.mark.parametrize("name,masked", _CASES, ids=[f"{n}-{m}" for n, m in _CASES])
def test_symbolic_mask_flag_matches_the_core(rng, name, masked):
    """Every layer's Python rule (_output_has_mask) against the mask the C++ forward emits."""
    ids = seqattn.Input((T,), dtype="int32")
    symbolic = [layers.Embedding(V, C, mask_zero=m)(ids) for m in masked]
    layer = _MAKERS[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Flatten's warning is tested above
        out = layer(symbolic if name in _LIST_LAYERS else symbolic[0])
    x = rng.standard_normal((2, T, C)).astype(np.float32)
    mask = np.array([[1] * T, [1, 1, 0, 0, 0, 0]], bool)
    arrays = [x] * len(masked)
    masks = [mask if m else None for m in masked]
    if name == "MultiHeadAttention":  # query, value (= query), key, attention_mask
        arrays, masks = [x, x, None, None], masks + masks + [None, None]
    core_mask = run_layer(layer, arrays, masks)["mask"]
    assert out.has_mask == (core_mask is not None and core_mask.size > 0)
    if out.has_mask and name.startswith("Concatenate"):  # Keras: a missing mask is all ones
        np.testing.assert_array_equal(core_mask, ref.concatenate_mask(
            arrays, masks, 1 if name == "Concatenate1" else 2))
    elif out.has_mask:
        np.testing.assert_array_equal(core_mask, mask)
