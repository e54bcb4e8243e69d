"""Pictures of training and attention: learning curves, attention heatmaps, token importance.

    import seqattn.plot
    seqattn.plot.plot_history(history)                      # loss and metrics per epoch
    seqattn.plot.plot_attention(scores[0], tokens)          # one example, every head + mean
    seqattn.plot.plot_token_importance(model, "the acting was superb")

matplotlib is optional (``pip install 'seqattn[plot]'``): ``import seqattn`` never imports it,
``import seqattn.plot`` does. Every function returns a ``matplotlib.figure.Figure``, drawn with
the object-oriented API and not kept open by pyplot (no leak, nothing shown behind your back):
in Jupyter, leave the figure as the last expression of a cell (or ``display(fig)``) and it is
drawn once; in a script, ``fig.savefig("history.png")`` (``plt.show()`` does not show it).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .importance import token_importance  # noqa: F401  (re-exported)

try:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
except ImportError as e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("seqattn.plot needs matplotlib: pip install 'seqattn[plot]'") from e

__all__ = ["plot_attention", "plot_history", "plot_token_importance", "token_importance"]

# History keys that are not learning curves: drawn only when named in `metrics=`.
_NOT_DRAWN_BY_DEFAULT = ("learning_rate", "lr")


def _new_figure(figsize):
    """A Figure the caller owns. pyplot makes it, so that the backend is loaded (in Jupyter
    the inline backend registers the display of a returned Figure), then forgets it at once:
    never kept open, never shown twice in a notebook (a pyplot figure would also be shown at
    the end of the cell)."""
    fig = plt.figure(figsize=figsize, layout="constrained")
    plt.close(fig)
    return fig


# ------------------------------------------------------------------------------ history
def plot_history(history, metrics=None, figsize=None, validation_freq=None, fig=None):
    """Learning curves: one panel per quantity, training and validation together.

    Args:
        history: what ``model.fit`` returns (a ``History``: ``.history`` {name: per-epoch
            values} and ``.epoch``, the 0-based indices of the epochs that ran) or a plain
            dict {name: list of values}, one value per epoch from epoch 1.
        metrics: the quantities to draw, by base name, in order (``["accuracy"]``,
            ``["loss", "learning_rate"]``). Default: ``"loss"`` first, then every other
            quantity of the history except ``learning_rate`` (drawn only when named).
        figsize: (width, height) in inches; default 4.5 x 3.5 per panel.
        validation_freq: the ``validation_freq`` given to ``fit`` when it was > 1. Needed only
            when the validation epochs cannot be worked out from the counts alone (see below).
        fig: a ``Figure`` to draw into (it gets the panels); default a new one.

    Each panel is titled with the quantity; it has a "training" curve (key ``name``) and a
    "validation" curve (key ``val_name``) when present, each point at its epoch number,
    1-based as Keras prints it (``.epoch`` + 1: a run resumed with ``initial_epoch=3`` starts
    at epoch 4). With ``validation_freq=N`` in ``fit`` the validation values exist only for
    epochs N, 2N, ...: they are drawn at those epochs. When a validation list is shorter than
    the epochs, the epochs are taken from ``validation_freq=`` (or ``history.params``), else
    from the only frequency consistent with the counts; if several are (10 epochs, 2 values:
    every 4 or every 5?) a ValueError asks for ``validation_freq``.

    Panels are laid out in rows of at most 3. Returns the Figure.
    """
    logs, epochs = _history_logs(history)
    if validation_freq is None:
        params = getattr(history, "params", None)
        if isinstance(params, dict) and params.get("validation_freq") is not None:
            validation_freq = params["validation_freq"]
    if validation_freq is not None and (isinstance(validation_freq, bool) or not isinstance(
            validation_freq, numbers.Integral) or validation_freq < 1):
        raise ValueError("Received an invalid value for `validation_freq`, expected None or a "
                         f"positive integer. Received: validation_freq={validation_freq!r}")
    names = _history_quantities(logs, metrics)
    n = len(names)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    if fig is None:
        fig = _new_figure(figsize or (4.5 * ncols, 3.5 * nrows))
    elif figsize is not None:
        fig.set_size_inches(figsize)
    for i, name in enumerate(names):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        for key, label in ((name, "training"), ("val_" + name, "validation")):
            values = logs.get(key)
            if not values:
                continue
            x = _epochs_of(key, len(values), epochs, validation_freq)
            ax.plot(x, np.asarray(values, dtype=float), marker="o", markersize=3, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend()
    return fig


def _history_logs(history):
    """({name: list of floats}, 1-based epoch numbers of the run)."""
    if isinstance(history, dict):
        logs, epoch = history, None
    elif isinstance(getattr(history, "history", None), dict):
        logs, epoch = history.history, getattr(history, "epoch", None)
    else:
        raise TypeError("`history` must be the History returned by model.fit (with .history "
                        f"and .epoch) or a dict {{name: per-epoch values}}. Received: "
                        f"{type(history).__name__}")
    logs = {str(k): list(v) for k, v in logs.items()}
    longest = max((len(v) for v in logs.values()), default=0)
    if longest == 0:
        raise ValueError("`history` is empty: it has no per-epoch values to plot (did fit run "
                         f"any epoch?). Received keys: {sorted(logs)}")
    if epoch is None or len(epoch) == 0:
        epochs = list(range(1, longest + 1))
    else:
        epochs = [int(e) + 1 for e in epoch]
    if longest > len(epochs):
        key = next(k for k, v in logs.items() if len(v) == longest)
        raise ValueError(f"history[{key!r}] has {longest} values but the history lists "
                         f"{len(epochs)} epochs ({_span(epochs)}).")
    return logs, epochs


def _history_quantities(logs, metrics):
    """The base names to draw (``val_`` stripped), in order."""
    available = []
    for key, values in logs.items():
        base = key[4:] if key.startswith("val_") else key
        if values and base not in available:
            available.append(base)
    if metrics is None:
        names = [b for b in available if b not in _NOT_DRAWN_BY_DEFAULT]
        if "loss" in names:
            names.remove("loss")
            names.insert(0, "loss")
        if not names:
            raise ValueError("`history` has no loss or metric to plot; its keys are "
                             f"{list(logs)} (pass metrics=[...] to draw them).")
        return names
    if isinstance(metrics, str):
        metrics = [metrics]
    names = list(metrics)
    if not names:
        raise ValueError("Received an empty `metrics` list: name at least one quantity. "
                         f"Available: {available}")
    for name in names:
        if name not in available:
            raise ValueError(f"Received an unknown quantity in `metrics`: {name!r}. Available "
                             f"in this history: {available}")
    return names


def _epochs_of(key, count, epochs, validation_freq):
    """The 1-based epoch numbers of the `count` values of history[key]."""
    if count == len(epochs):
        return list(epochs)
    if validation_freq is not None:
        x = [e for e in epochs if e % validation_freq == 0]
        if len(x) != count:
            raise ValueError(f"history[{key!r}] has {count} values, but validation_freq="
                             f"{validation_freq} over epochs {_span(epochs)} gives {len(x)} "
                             f"validation epochs ({x}).")
        return x
    fits = {tuple(e for e in epochs if e % f == 0) for f in range(1, epochs[-1] + 1)}
    fits = [list(x) for x in fits if len(x) == count]
    if len(fits) == 1:
        return fits[0]
    raise ValueError(f"history[{key!r}] has {count} values for the {len(epochs)} epochs "
                     f"{_span(epochs)}: it was computed on some epochs only (fit's "
                     "validation_freq), and the counts do not say which. Pass "
                     "validation_freq= (the value given to fit).")


def _span(epochs):
    return f"{epochs[0]}..{epochs[-1]}" if epochs else "none"


# ---------------------------------------------------------------------------- attention
def plot_attention(scores, tokens, head=None, query_tokens=None, figsize=None,
                   cmap="viridis", fig=None):
    """Heatmaps of one example's attention: which keys each query attends to.

    Args:
        scores: the attention probabilities of ONE example, (H, T, S): H heads, T queries,
            S keys, as ``model.attention_scores(x)[name][i]`` or the eager
            ``mha(q, v, return_attention_scores=True)[1][i]``. (T, S) is one head; (1, H, T, S)
            (a batch of one) is accepted too.
        tokens: the key tokens, S or fewer (a list of str). Only the first ``len(tokens)``
            keys are drawn, and keys whose token is ``""`` (TextVectorization's padding) are
            left out, so passing ``vectorizer.get_vocabulary()[i] for i in ids`` hides the
            padding.
        head: None (every head, then their mean), ``"mean"`` (the mean over heads only) or an
            int (that head).
        query_tokens: the query tokens (T or fewer, the same rules); default ``tokens``
            (self-attention).
        figsize: (width, height) in inches; default grows with the number of tokens.
        cmap: a matplotlib colormap name.
        fig: a ``Figure`` to draw into; default a new one.

    Layout: keys along x (labels rotated), queries along y, one row per query. With
    ``head=None`` the panels are "head 0", "head 1", ... and last "mean of H heads" (a model
    with one head gets just "head 0"), filling rows of up to 4 panels. All panels share one
    color scale, from 0 to the largest weight drawn, shown by one colorbar on the right. In
    ``fig.axes`` the panels come first, in that order, and the colorbar last. Returns the
    Figure.
    """
    scores = _attention_array(scores)
    h, t, s = scores.shape
    keys = _kept_positions("tokens", tokens, s, "S (the last axis of scores)")
    queries = _kept_positions("query_tokens", tokens if query_tokens is None else query_tokens,
                              t, "T (the query axis of scores)")
    key_labels = [str(tokens[i]) for i in keys]
    query_labels = [str((tokens if query_tokens is None else query_tokens)[i])
                    for i in queries]
    panels = []  # (title, (T', S') values)
    mean = scores.mean(axis=0)
    if head is None:
        panels = [(f"head {i}", scores[i]) for i in range(h)]
        if h > 1:
            panels.append((f"mean of {h} heads", mean))
    elif isinstance(head, str) and head == "mean":
        panels = [(f"mean of {h} head{'s' if h != 1 else ''}", mean)]
    elif isinstance(head, numbers.Integral) and not isinstance(head, bool) and 0 <= head < h:
        panels = [(f"head {int(head)}", scores[int(head)])]
    else:
        raise ValueError(f"Received an invalid value for `head`, expected None, 'mean' or an "
                         f"int in [0, {h}) (the scores have {h} head{'s' if h != 1 else ''}). "
                         f"Received: head={head!r}")
    panels = [(title, values[np.ix_(queries, keys)]) for title, values in panels]
    vmax = max(float(v.max()) for _, v in panels)
    vmax = vmax if vmax > 0 else 1.0

    n = len(panels)
    nrows = math.ceil(n / 4)
    ncols = math.ceil(n / nrows)
    if fig is None:
        if figsize is None:
            side = min(12.0, max(3.0, 0.32 * max(len(keys), len(queries)) + 1.2))
            # + room for the titles and the rotated key labels around each square panel
            figsize = (side * ncols + 1.0, (side + 0.6) * nrows)
        fig = _new_figure(figsize)
    elif figsize is not None:
        fig.set_size_inches(figsize)
    axes = []
    for i, (title, values) in enumerate(panels):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        image = ax.imshow(values, cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_xticks(range(len(keys)), labels=key_labels, rotation=90)
        ax.set_yticks(range(len(queries)), labels=query_labels)
        ax.set_xlabel("key (attended to)")
        ax.set_ylabel("query")
        ax.set_title(title)
        axes.append(ax)
    fig.colorbar(image, ax=axes, label="attention weight", shrink=0.8)
    return fig


def _attention_array(scores):
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    elif array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or 0 in array.shape:
        raise ValueError("Received an invalid shape for `scores`, expected one example's "
                         "attention: (H, T, S), (T, S) or (1, H, T, S) (for a batch, pass "
                         f"scores[i]). Received: scores.shape={np.shape(scores)}")
    return array


def _kept_positions(name, tokens, size, what):
    """Indices of the drawn positions: the first len(tokens), minus those whose token is ""."""
    if isinstance(tokens, (str, bytes)) or not hasattr(tokens, "__len__"):
        raise TypeError(f"`{name}` must be a list of str tokens. Received: {tokens!r}")
    if len(tokens) > size:
        raise ValueError(f"Received too many `{name}`: expected at most {size} = {what}. "
                         f"Received: {len(tokens)} tokens")
    kept = [i for i, tok in enumerate(tokens) if str(tok) != ""]
    if not kept:
        raise ValueError(f"`{name}` has no token to draw (empty, or only padding ''). "
                         f"Received: {list(tokens)!r}")
    return kept


# ---------------------------------------------------------------------- token importance
def plot_token_importance(model, text, layer=None, top=None, figsize=None, ax=None):
    """Horizontal bars: the share of attention each token of `text` receives.

    Args:
        model, text, layer: as ``token_importance`` (whose numbers are drawn, and which
            explains them and their limits: attention is a heuristic, not an explanation).
        top: None (every token) or an int k: only the k tokens with the largest share (ties
            to the earlier token), still in sentence order.
        figsize: (width, height) in inches; default grows with the number of tokens.
        ax: an Axes to draw into; default a new Figure.

    Tokens run top to bottom in sentence order, one bar each, its value written at its end; a
    dashed line marks the uniform share 1/n (n = all the text's tokens): bars beyond it got
    more than an even share. The title is the prediction: ``"positive 0.93"`` /
    ``"negative 0.88"`` (the predicted label and its probability) for a one-unit sigmoid
    output, ``"class k 0.71"`` for softmax. Returns the Figure.
    """
    tokens, importances, probability = token_importance(model, text, layer)
    if layer is None:
        from .layers.attention import MultiHeadAttention
        layer = [n.layer.name for n in model._nodes
                 if isinstance(n.layer, MultiHeadAttention)][-1]
    n = len(tokens)
    keep = np.arange(n)
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1:
            raise ValueError("Received an invalid value for `top`, expected None or a positive "
                             f"integer. Received: top={top!r}")
        keep = np.sort(np.argsort(-importances, kind="stable")[:int(top)])
    shown = [tokens[i] for i in keep]
    values = importances[keep]
    if ax is None:
        fig = _new_figure(figsize or (6.0, 0.3 * len(shown) + 1.8))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
        if figsize is not None:
            fig.set_size_inches(figsize)
    y = np.arange(len(shown))
    bars = ax.barh(y, values, color="tab:blue")
    ax.set_yticks(y, labels=shown)
    ax.invert_yaxis()  # the first token on top
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], padding=2, fontsize="small")
    ax.axvline(1.0 / n, color="gray", linestyle="--", linewidth=1,
               label=f"uniform share 1/{n}")
    ax.set_xlim(0, max(float(values.max()), 1.0 / n) * 1.2)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False, fontsize="small")
    label, confidence = _predicted_label(probability)
    ax.set_title(f"{label} {confidence:.2f}")
    shown_note = "" if len(shown) == n else f", top {len(shown)} of {n} tokens"
    ax.set_xlabel(f"share of attention received\n({layer}: mean over heads and queries"
                  f"{shown_note})")
    return fig


def _predicted_label(probability):
    """("positive", p) / ("negative", 1 - p) for a sigmoid output, ("class k", p_k) else."""
    if isinstance(probability, float):
        return ("positive", probability) if probability >= 0.5 else ("negative",
                                                                     1.0 - probability)
    k = int(np.argmax(probability))
    return f"class {k}", float(probability[k])
