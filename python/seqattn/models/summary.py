"""The model summary: Keras's table of layers, output shapes and parameter counts, as text
(`model.summary()`) and as HTML (a model shown in Jupyter)."""

from __future__ import annotations


def summary_table(model):
    """(header, rows, total params): the table behind summary() and _repr_html_."""
    connected = model._summary_connected
    header = ("Layer (type)", "Output Shape", "Param #") + (("Connected to",) if connected
                                                             else ())
    rows = []
    for t in model.inputs:
        rows.append((f"{t.name} (InputLayer)", str(t.shape), "0", "-")[:len(header)])
    shapes = {}  # a shared layer is one row: its calls' output shapes, its sources
    for layer, _, last in model._layer_calls():
        shapes.setdefault(id(layer), []).append(str(last.output.shape))
    for layer in model.layers:
        sources = ", ".join(model._sources(layer))
        shown = shapes[id(layer)]
        rows.append((f"{layer.name} ({type(layer).__name__})",
                     shown[0] if len(set(shown)) == 1 else ", ".join(shown),
                     f"{layer.count_params():,}", sources)[:len(header)])
    return header, rows, model.count_params()


def print_summary(model, print_fn=None):
    """Prints a table of layers, output shapes and parameter counts (and, for functional
    models, which layers feed each one)."""
    header, rows, total = summary_table(model)
    rows = [header] + rows
    widths = [max(len(r[i]) for r in rows) + 2 for i in range(len(header))]
    line = "─" * (sum(widths) + 2)
    out = [f'Model: "{model.name}"', line]
    for j, r in enumerate(rows):
        text = f" {r[0]:<{widths[0]}}{r[1]:<{widths[1]}}{r[2]:>{widths[2]}}"
        if len(header) > 3:
            text += f"  {r[3]}"
        out.append(text.rstrip())
        if j == 0:
            out.append(line)
    out += [line, f" Total params: {total:,}", f" Trainable params: {total:,}",
            " Non-trainable params: 0", line]
    text = "\n".join(out)
    (print_fn or print)(text)
    return None


def summary_html(model):
    """The summary as an HTML table, for Jupyter (`model` as a cell's last line)."""
    import html
    if model.inputs is None:
        return (f"<p><b>{html.escape(model.name)}</b> ({type(model).__name__}): not built "
                "yet; call it on data or start it with seqattn.Input(...).</p>")
    header, rows, total = summary_table(model)
    cell = "<td style='text-align:{}'>{}</td>".format
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell("right" if i == 2 else "left", html.escape(v))
                                     for i, v in enumerate(r)) + "</tr>" for r in rows)
    compiled = ("" if model._losses is None or model._optimizer is None else
                f"; optimizer {html.escape(type(model._optimizer).__name__)}, loss "
                + html.escape(", ".join("-" if l is None else l.name for l in model._losses)))
    return (f"<div><b>Model: \"{html.escape(model.name)}\"</b> ({type(model).__name__})"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"<p>Total params: {total:,} (trainable {total:,}){compiled}</p></div>")
