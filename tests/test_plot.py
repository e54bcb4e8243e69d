"""seqattn.plot: what each figure draws (data, labels, titles), its errors, and that matplotlib
stays optional."""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import seqattn  # noqa: E402
from seqattn import layers  # noqa: E402
from seqattn.callbacks import History  # noqa: E402
from seqattn.plot import (plot_attention, plot_history, plot_token_importance,  # noqa: E402
                          token_importance)

MAXLEN = 12


def _history(epoch, logs):
    h = History()
    h.epoch = list(epoch)
    h.history = {k: list(v) for k, v in logs.items()}
    return h


def _panels(fig):
    """The panels of a figure, without colorbars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _ticks(labels):
    return [t.get_text() for t in labels]


# ------------------------------------------------------------------------------ history
LOGS = {"loss": [0.9, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8],
        "val_loss": [0.8, 0.65, 0.5], "val_accuracy": [0.55, 0.68, 0.79],
        "learning_rate": [1e-3, 1e-3, 5e-4]}


def test_history_one_panel_per_quantity_with_training_and_validation():
    fig = plot_history(_history([0, 1, 2], LOGS))
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]  # no learning_rate panel
    for ax, name in zip(axes, ["loss", "accuracy"]):
        assert len(ax.lines) == 2
        train, val = ax.lines
        np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])  # 1-based, as Keras prints
        np.testing.assert_array_equal(train.get_ydata(), LOGS[name])
        np.testing.assert_array_equal(val.get_xdata(), [1, 2, 3])
        np.testing.assert_array_equal(val.get_ydata(), LOGS["val_" + name])
        assert _legend(ax) == ["training", "validation"]
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == name
    plt.close(fig)


def test_history_loss_comes_first_and_a_plain_dict_works():
    logs = {"accuracy": [0.5, 0.6], "loss": [1.0, 0.8]}
    fig = plot_history(logs)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert [len(ax.lines) for ax in fig.axes] == [1, 1]
    assert _legend(fig.axes[0]) == ["training"]
    np.testing.assert_array_equal(fig.axes[1].lines[0].get_xdata(), [1, 2])
    np.testing.assert_array_equal(fig.axes[1].lines[0].get_ydata(), [0.5, 0.6])
    plt.close(fig)


def test_history_metrics_restricts_and_learning_rate_only_when_asked():
    fig = plot_history(_history([0, 1, 2], LOGS), metrics=["accuracy"])
    assert [ax.get_title() for ax in fig.axes] == ["accuracy"]
    np.testing.assert_array_equal(fig.axes[0].lines[1].get_ydata(), LOGS["val_accuracy"])
    plt.close(fig)
    fig = plot_history(_history([0, 1, 2], LOGS), metrics=["loss", "learning_rate"])
    assert [ax.get_title() for ax in fig.axes] == ["loss", "learning_rate"]
    lr = fig.axes[1]
    assert len(lr.lines) == 1 and _legend(lr) == ["training"]
    np.testing.assert_array_equal(lr.lines[0].get_ydata(), LOGS["learning_rate"])
    plt.close(fig)


def test_history_grid_has_rows_of_three():
    logs = {name: [0.1, 0.2] for name in ["loss", "a", "b", "c", "d"]}
    fig = plot_history(logs)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "a", "b", "c", "d"]
    geometry = {ax.get_subplotspec().get_geometry()[:2] for ax in fig.axes}
    assert geometry == {(2, 3)}
    np.testing.assert_allclose(fig.get_size_inches(), [13.5, 7.0])
    plt.close(fig)
    from matplotlib.figure import Figure
    given = Figure()
    assert plot_history(logs, metrics=["a", "b"], fig=given, figsize=(6, 2)) is given
    assert [ax.get_title() for ax in given.axes] == ["a", "b"]
    np.testing.assert_allclose(given.get_size_inches(), [6, 2])


def test_history_resumed_run_and_validation_freq_put_points_at_their_epochs():
    # A run resumed at initial_epoch=3 (epochs 4..7), validated every 2 epochs: 4 and 6.
    logs = {"loss": [0.9, 0.8, 0.7, 0.6], "val_loss": [0.85, 0.65]}
    fig = plot_history(_history([3, 4, 5, 6], logs), validation_freq=2)
    train, val = fig.axes[0].lines
    np.testing.assert_array_equal(train.get_xdata(), [4, 5, 6, 7])
    np.testing.assert_array_equal(val.get_xdata(), [4, 6])
    np.testing.assert_array_equal(val.get_ydata(), [0.85, 0.65])
    plt.close(fig)
    # Without validation_freq, the epochs are inferred when one frequency alone fits the
    # counts (2 values in epochs 1..5: only every 2nd), else a clear error.
    fig = plot_history(_history([0, 1, 2, 3, 4], {"loss": [1] * 5, "val_loss": [2, 3]}))
    np.testing.assert_array_equal(fig.axes[0].lines[1].get_xdata(), [2, 4])  # only f=2 fits
    plt.close(fig)
    with pytest.raises(ValueError, match=r"history\['val_loss'\] has 2 values for the 10 "
                                         r"epochs 1\.\.10.*Pass validation_freq="):
        plot_history({"loss": [1] * 10, "val_loss": [2, 3]})  # every 4 or every 5?
    fig = plot_history({"loss": [1] * 10, "val_loss": [2, 3]}, validation_freq=5)
    np.testing.assert_array_equal(fig.axes[0].lines[1].get_xdata(), [5, 10])
    plt.close(fig)
    # The frequency from history.params, when fit records it there.
    h = _history(range(10), {"loss": [1] * 10, "val_loss": [2, 3]})
    h.params = {"validation_freq": 5}
    fig = plot_history(h)
    np.testing.assert_array_equal(fig.axes[0].lines[1].get_xdata(), [5, 10])
    plt.close(fig)


def test_history_from_a_real_resumed_fit_with_validation_freq():
    model, texts, labels = _text_model()
    history = model.fit(texts[:64], labels[:64], epochs=5, initial_epoch=1, validation_freq=2,
                        validation_data=(texts[64:96], labels[64:96]), verbose=0)
    assert history.epoch == [1, 2, 3, 4] and len(history.history["val_loss"]) == 2
    fig = plot_history(history)
    loss, acc = fig.axes
    assert [loss.get_title(), acc.get_title()] == ["loss", "accuracy"]
    np.testing.assert_array_equal(loss.lines[0].get_xdata(), [2, 3, 4, 5])
    np.testing.assert_array_equal(loss.lines[0].get_ydata(), history.history["loss"])
    np.testing.assert_array_equal(loss.lines[1].get_xdata(), [2, 4])  # (epoch + 1) % 2 == 0
    np.testing.assert_array_equal(loss.lines[1].get_ydata(), history.history["val_loss"])
    np.testing.assert_array_equal(acc.lines[1].get_ydata(), history.history["val_accuracy"])
    plt.close(fig)


@pytest.mark.parametrize("history,kwargs,error,message", [
    ({}, {}, ValueError, r"`history` is empty"),
    ({"loss": []}, {}, ValueError, r"`history` is empty"),
    (History(), {}, ValueError, r"`history` is empty"),
    ([0.1, 0.2], {}, TypeError, r"must be the History returned by model.fit"),
    ({"loss": [1.0]}, {"metrics": ["accuracy"]}, ValueError,
     r"unknown quantity in `metrics`: 'accuracy'. Available in this history: \['loss'\]"),
    ({"loss": [1.0]}, {"metrics": []}, ValueError, r"empty `metrics`"),
    ({"loss": [1.0, 2.0]}, {"validation_freq": 0}, ValueError,
     r"expected None or a positive integer. Received: validation_freq=0"),
    ({"learning_rate": [1.0]}, {}, ValueError, r"no loss or metric to plot"),
])
def test_history_errors(history, kwargs, error, message):
    with pytest.raises(error, match=message):
        fig = plot_history(history, **kwargs)
        plt.close(fig)


def test_history_errors_on_counts():
    with pytest.raises(ValueError, match=r"validation_freq=3 over epochs 1\.\.4 gives 1 "
                                         r"validation epochs \(\[3\]\)"):
        plot_history({"loss": [1, 2, 3, 4], "val_loss": [1, 2]}, validation_freq=3)
    with pytest.raises(ValueError, match=r"history\['loss'\] has 3 values but the history "
                                         r"lists 2 epochs \(1\.\.2\)"):
        plot_history(_history([0, 1], {"loss": [1, 2, 3]}))


# ---------------------------------------------------------------------------- attention
def _scores(h, t, s, seed=0):
    return np.random.RandomState(seed).dirichlet(np.ones(s), size=(h, t))  # rows sum to 1


def test_attention_every_head_then_the_mean_cropped_to_the_real_tokens():
    scores = _scores(3, 6, 6)
    tokens = ["the", "film", "was", "good", "", ""]  # two padding positions
    fig = plot_attention(scores, tokens)
    panels = _panels(fig)
    assert len(fig.axes) == 3 + 1 + 1  # 3 heads, the mean, one shared colorbar (last)
    assert fig.axes[-1].get_label() == "<colorbar>"
    assert [ax.get_title() for ax in panels] == ["head 0", "head 1", "head 2",
                                                 "mean of 3 heads"]
    for i, ax in enumerate(panels[:3]):
        np.testing.assert_array_equal(ax.images[0].get_array(), scores[i, :4, :4])
    np.testing.assert_allclose(panels[3].images[0].get_array(), scores.mean(0)[:4, :4],
                               rtol=1e-12)
    for ax in panels:
        assert _ticks(ax.get_xticklabels()) == tokens[:4]
        assert _ticks(ax.get_yticklabels()) == tokens[:4]
        assert ax.get_xlabel() == "key (attended to)" and ax.get_ylabel() == "query"
    # one color scale for all panels, from 0 to the largest weight drawn
    vmax = max(scores[:, :4, :4].max(), scores.mean(0)[:4, :4].max())
    for ax in panels:
        assert ax.images[0].get_clim() == (0.0, pytest.approx(vmax))
    assert {(ax.get_subplotspec().get_geometry()[:2]) for ax in panels} == {(1, 4)}
    plt.close(fig)


def test_attention_grid_has_rows_of_at_most_four():
    fig = plot_attention(_scores(8, 3, 3), ["a", "b", "c"])
    panels = _panels(fig)
    assert len(panels) == 9 and panels[-1].get_title() == "mean of 8 heads"
    assert {ax.get_subplotspec().get_geometry()[:2] for ax in panels} == {(3, 3)}
    plt.close(fig)


def test_attention_fewer_tokens_empty_tokens_and_query_tokens():
    scores = _scores(2, 4, 7)  # cross-attention: 4 queries, 7 keys
    keys = ["a", "", "c", "d", "e"]  # keys 5, 6 dropped (no token), key 1 is padding
    queries = ["x", "y", "z"]
    fig = plot_attention(scores, keys, head=1, query_tokens=queries)
    (ax,) = _panels(fig)
    assert ax.get_title() == "head 1"
    np.testing.assert_array_equal(ax.images[0].get_array(), scores[1][np.ix_([0, 1, 2],
                                                                             [0, 2, 3, 4])])
    assert _ticks(ax.get_xticklabels()) == ["a", "c", "d", "e"]
    assert _ticks(ax.get_yticklabels()) == queries
    plt.close(fig)


def test_attention_mean_only_single_head_and_batch_of_one():
    scores = _scores(2, 3, 3)
    fig = plot_attention(scores[None], ["a", "b", "c"], head="mean")  # (1, H, T, S)
    (ax,) = _panels(fig)
    assert ax.get_title() == "mean of 2 heads"
    np.testing.assert_allclose(ax.images[0].get_array(), scores.mean(0), rtol=1e-12)
    plt.close(fig)
    fig = plot_attention(scores[0], ["a", "b", "c"], cmap="magma")  # (T, S): one head
    (ax,) = _panels(fig)  # one head: no separate mean panel
    assert ax.get_title() == "head 0" and ax.images[0].get_cmap().name == "magma"
    np.testing.assert_array_equal(ax.images[0].get_array(), scores[0])
    plt.close(fig)


def test_attention_draws_into_a_given_figure():
    from matplotlib.figure import Figure
    fig = Figure()
    assert plot_attention(_scores(2, 2, 2), ["a", "b"], fig=fig, figsize=(5, 2)) is fig
    assert len(_panels(fig)) == 3
    np.testing.assert_allclose(fig.get_size_inches(), [5, 2])
    plt.close(fig)


@pytest.mark.parametrize("scores,tokens,kwargs,error,message", [
    (np.zeros((2, 2, 3, 3)), ["a"], {}, ValueError,
     r"invalid shape for `scores`, expected one example's attention: \(H, T, S\), \(T, S\) or "
     r"\(1, H, T, S\) \(for a batch, pass scores\[i\]\). Received: scores.shape=\(2, 2, 3, 3\)"),
    (np.zeros(3), ["a"], {}, ValueError, r"Received: scores.shape=\(3,\)"),
    (np.zeros((2, 0, 3)), ["a"], {}, ValueError, r"Received: scores.shape=\(2, 0, 3\)"),
    (np.zeros((2, 3, 3)), ["a", "b", "c", "d"], {}, ValueError,
     r"too many `tokens`: expected at most 3 = S \(the last axis of scores\). Received: 4"),
    (np.zeros((2, 2, 3)), ["a", "b", "c"], {}, ValueError,
     r"too many `query_tokens`: expected at most 2 = T \(the query axis of scores\). "
     r"Received: 3"),
    (np.zeros((2, 3, 3)), ["", ""], {}, ValueError, r"`tokens` has no token to draw"),
    (np.zeros((2, 3, 3)), "abc", {}, TypeError, r"`tokens` must be a list of str tokens"),
    (np.zeros((2, 3, 3)), ["a"], {"head": 2}, ValueError,
     r"invalid value for `head`, expected None, 'mean' or an int in \[0, 2\) \(the scores "
     r"have 2 heads\). Received: head=2"),
    (np.zeros((2, 3, 3)), ["a"], {"head": -1}, ValueError, r"Received: head=-1"),
    (np.zeros((2, 3, 3)), ["a"], {"head": True}, ValueError, r"Received: head=True"),
    (np.zeros((2, 3, 3)), ["a"], {"head": "max"}, ValueError, r"Received: head='max'"),
])
def test_attention_errors(scores, tokens, kwargs, error, message):
    with pytest.raises(error, match=message):
        plt.close(plot_attention(scores, tokens, **kwargs))


# ---------------------------------------------------------------------- token importance
def _text_model(seed=0):
    """String Input -> vectorizer -> embedding -> MHA 'mha' -> TransformerEncoder 'encoder_0'
    -> pooling -> sigmoid, compiled; with the built-in corpus it was adapted on."""
    seqattn.utils.set_random_seed(seed)
    texts, labels = seqattn.datasets.synthetic_sentiment(n_samples=600, seed=seed)
    vectorizer = seqattn.text.TextVectorization(max_tokens=200, output_sequence_length=MAXLEN,
                                                name="vectorizer")
    vectorizer.adapt(texts)
    inp = seqattn.Input(shape=(), dtype="string", name="text")
    h = layers.TokenAndPositionEmbedding(vectorizer.vocabulary_size(), MAXLEN, 16,
                                         mask_zero=True)(vectorizer(inp))
    h = layers.MultiHeadAttention(num_heads=2, key_dim=8, name="mha")(h, h)
    h = layers.TransformerEncoder(16, 2, name="encoder_0")(h)
    out = layers.Dense(1, activation="sigmoid", name="classifier")(
        layers.GlobalAveragePooling1D()(h))
    model = seqattn.Model(inp, out)
    model.compile(optimizer=seqattn.optimizers.Adam(3e-3), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model, texts, np.asarray(labels)


@pytest.fixture(scope="module")
def text_model():
    """The text model trained 2 epochs on the built-in corpus (600 texts); tests must leave
    its weights as they found them."""
    model, texts, labels = _text_model()
    model.fit(texts, labels, epochs=2, batch_size=32, verbose=0)
    return model, texts, labels


def _numpy_importance(model, text, layer, n_tokens):
    """Independent: mean over heads and the first n_tokens (real) queries, normalised."""
    scores = model.attention_scores([text])[layer][0].astype(np.float64)   # (H, T, S)
    received = scores[:, :n_tokens, :n_tokens].mean(axis=(0, 1))
    return received / received.sum()


SENTENCE = "The acting was superb, but the zorblax plot was dull"


def test_token_importance_is_the_attention_each_token_receives(text_model):
    model, _, _ = text_model
    tokens, importances, probability = token_importance(model, SENTENCE)
    # What the vectorizer sees: lowercased, punctuation stripped, [UNK] for unknown words.
    assert tokens == ["the", "acting", "was", "superb", "but", "the", "[UNK]", "plot", "was",
                      "dull"]
    assert importances.shape == (10,) and importances.dtype == np.float64
    np.testing.assert_allclose(importances,
                               _numpy_importance(model, SENTENCE, "encoder_0/self_attention",
                                                 10), rtol=1e-12)
    assert importances.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(importances > 0)
    assert probability == pytest.approx(float(model.predict([SENTENCE], verbose=0)[0, 0]))
    # another layer by name: the first attention (default is the LAST one)
    _, first, _ = token_importance(model, SENTENCE, layer="mha")
    np.testing.assert_allclose(first, _numpy_importance(model, SENTENCE, "mha", 10),
                               rtol=1e-12)
    assert not np.allclose(first, importances)


def test_token_importance_truncates_like_the_vectorizer(text_model):
    model, _, _ = text_model
    text = " ".join(["good"] * 5 + ["bad"] * 20)
    tokens, importances, _ = token_importance(model, text)
    assert tokens == ["good"] * 5 + ["bad"] * (MAXLEN - 5)
    np.testing.assert_allclose(importances, _numpy_importance(
        model, text, "encoder_0/self_attention", MAXLEN), rtol=1e-12)


def test_plot_token_importance_bars_labels_and_title(text_model):
    model, _, _ = text_model
    tokens, importances, p = token_importance(model, SENTENCE)
    fig = plot_token_importance(model, SENTENCE)
    (ax,) = fig.axes
    widths = [bar.get_width() for bar in ax.patches]
    np.testing.assert_allclose(widths, importances, rtol=1e-12)
    np.testing.assert_array_equal([bar.get_y() + bar.get_height() / 2 for bar in ax.patches],
                                  np.arange(10))
    assert _ticks(ax.get_yticklabels()) == tokens
    assert ax.yaxis_inverted()  # the first token on top: sentence order reads downwards
    label, confidence = ("positive", p) if p >= 0.5 else ("negative", 1 - p)
    assert ax.get_title() == f"{label} {confidence:.2f}"
    assert ax.get_xlabel() == ("share of attention received\n(encoder_0/self_attention: mean "
                               "over heads and queries)")
    (uniform,) = ax.lines
    np.testing.assert_allclose(uniform.get_xdata(), [0.1, 0.1])
    assert _legend(ax) == ["uniform share 1/10"]
    assert [t.get_text() for t in ax.texts] == [f"{v:.3f}" for v in importances]
    plt.close(fig)


def test_plot_token_importance_title_matches_predictions(text_model):
    model, _, _ = text_model
    classifier = model.get_layer("classifier")
    kernel, bias = classifier.get_weights()
    titles, expected = [], []
    try:
        for shift in (8.0, -8.0):  # push the output to each side of 0.5
            classifier.set_weights([kernel, bias + shift])
            p = float(model.predict([SENTENCE], verbose=0)[0, 0])
            expected.append(f"positive {p:.2f}" if p >= 0.5 else f"negative {1 - p:.2f}")
            fig = plot_token_importance(model, SENTENCE)
            titles.append(fig.axes[0].get_title())
            plt.close(fig)
    finally:
        classifier.set_weights([kernel, bias])
    assert titles == expected
    assert titles[0].startswith("positive ") and titles[1].startswith("negative ")


def test_plot_token_importance_top_keeps_sentence_order(text_model):
    model, _, _ = text_model
    tokens, importances, _ = token_importance(model, SENTENCE, layer="mha")
    fig = plot_token_importance(model, SENTENCE, layer="mha", top=3)
    ax = fig.axes[0]
    best = np.sort(np.argsort(-importances, kind="stable")[:3])
    assert _ticks(ax.get_yticklabels()) == [tokens[i] for i in best]
    np.testing.assert_allclose([b.get_width() for b in ax.patches], importances[best],
                               rtol=1e-12)
    assert ax.get_xlabel().endswith("(mha: mean over heads and queries, top 3 of 10 tokens)")
    plt.close(fig)


def test_plot_token_importance_into_given_axes_and_softmax_title():
    vectorizer = seqattn.text.TextVectorization(max_tokens=20, output_sequence_length=6)
    vectorizer.adapt(["a b c d"])
    inp = seqattn.Input(shape=(), dtype="string")
    h = layers.TokenAndPositionEmbedding(vectorizer.vocabulary_size(), 6, 8,
                                         mask_zero=True)(vectorizer(inp))
    h = layers.MultiHeadAttention(2, 4)(h, h)
    model = seqattn.Model(inp, layers.Dense(3, activation="softmax")(
        layers.GlobalAveragePooling1D()(h)))
    tokens, importances, probs = token_importance(model, "a B zz")
    assert tokens == ["a", "b", "[UNK]"]
    expected = model.predict(["a B zz"], verbose=0)[0]
    np.testing.assert_allclose(probs, expected)
    from matplotlib.figure import Figure
    fig = Figure()
    ax = fig.add_subplot(1, 2, 2)
    assert plot_token_importance(model, "a B zz", ax=ax) is fig
    k = int(np.argmax(expected))
    assert ax.get_title() == f"class {k} {expected[k]:.2f}"
    np.testing.assert_allclose([b.get_width() for b in ax.patches], importances, rtol=1e-12)
    plt.close(fig)


def test_token_importance_of_a_sequential_text_model_not_built_yet():
    vectorizer = seqattn.text.TextVectorization(max_tokens=20, output_sequence_length=5)
    vectorizer.adapt(["a b c d"])
    model = seqattn.Sequential([
        vectorizer, layers.TokenAndPositionEmbedding(vectorizer.vocabulary_size(), 5, 8,
                                                     mask_zero=True),
        layers.MultiHeadAttention(2, 4, name="attention"), layers.GlobalAveragePooling1D(),
        layers.Dense(1, activation="sigmoid")])
    tokens, importances, p = token_importance(model, "d, c!")
    assert tokens == ["d", "c"]
    np.testing.assert_allclose(importances, _numpy_importance(model, "d c", "attention", 2),
                               rtol=1e-12)
    assert p == pytest.approx(float(model.predict(["d c"], verbose=0)[0, 0]))


def test_token_importance_errors(text_model):
    model, _, _ = text_model
    with pytest.raises(ValueError, match=r"unknown attention layer: layer='nope'. The model's "
                                         r"attention layers: \['mha', "
                                         r"'encoder_0/self_attention'\]"):
        token_importance(model, SENTENCE, layer="nope")
    with pytest.raises(ValueError, match=r"`text` has no token once vectorized"):
        token_importance(model, " ,.! ")
    with pytest.raises(TypeError, match=r"`text` must be one str"):
        token_importance(model, ["a", "b"])
    with pytest.raises(ValueError, match=r"Received an invalid value for `top`"):
        plot_token_importance(model, SENTENCE, top=0)
    ids_model = seqattn.Sequential([
        seqattn.Input(shape=(4,), dtype="int32"),
        layers.TokenAndPositionEmbedding(10, 4, 8, mask_zero=True),
        layers.MultiHeadAttention(2, 4),
        layers.GlobalAveragePooling1D(),
        layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match=r"reads token ids, not text"):
        token_importance(ids_model, "a b")
    vectorizer = seqattn.text.TextVectorization(max_tokens=20, output_sequence_length=4)
    vectorizer.adapt(["a b"])
    inp = seqattn.Input(shape=(), dtype="string")
    h = layers.Embedding(vectorizer.vocabulary_size(), 8, mask_zero=True)(vectorizer(inp))
    no_attention = seqattn.Model(inp, layers.Dense(1)(layers.GlobalAveragePooling1D()(h)))
    with pytest.raises(ValueError, match=r"has no MultiHeadAttention layer"):
        token_importance(no_attention, "a b")


# ---------------------------------------------------------------------- optional matplotlib
def test_import_seqattn_does_not_import_matplotlib():
    code = "import sys, seqattn; print(sorted(m for m in sys.modules if 'matplotlib' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_import_seqattn_plot_without_matplotlib_says_how_to_install():
    code = ("import sys\nsys.modules['matplotlib'] = None\nimport seqattn\n"
            "try:\n    import seqattn.plot\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "seqattn.plot needs matplotlib: pip install 'seqattn[plot]'"


def test_figures_are_not_left_open_in_pyplot():
    before = plt.get_fignums()
    fig = plot_history({"loss": [1.0, 0.5]})
    assert plt.get_fignums() == before  # built with Figure(), never registered with pyplot
    plt.close(fig)
