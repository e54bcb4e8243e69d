"""The README's Python quickstart runs as written and does what it says."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_readme_quickstart_runs(capsys):
    text = README.read_text(encoding="utf-8")
    code = re.search(r"## Quickstart \(Python API\)\n\n```python\n(.*?)```", text, re.S).group(1)
    namespace = {}
    exec(compile(code, "README quickstart", "exec"), namespace)
    assert namespace["history"].history["val_accuracy"][-1] > 0.95
    assert namespace["model"].predict(namespace["x_test"][:1], verbose=0).shape == (1, 1)
    assert "Total params" in capsys.readouterr().out


@pytest.mark.slow
def test_readme_training_block_runs(tmp_path, monkeypatch, capsys):
    """The "Training like Keras" block, on the quickstart's data and model (20 epochs cut to
    3), writes the files it names and reloads the model."""
    text = README.read_text(encoding="utf-8")
    quickstart = re.search(r"## Quickstart \(Python API\)\n\n```python\n(.*?)```", text,
                           re.S).group(1)
    setup = quickstart.split("model.compile(")[0]  # data, vectorizer and model
    block = re.search(r"## Training like Keras.*?```python\n(.*?)```", text, re.S).group(1)
    assert "epochs=20" in block
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(setup + block.replace("epochs=20", "epochs=3"), "README training", "exec"),
         namespace)
    history = namespace["history"].history
    assert {"val_precision", "val_recall", "val_auc", "val_f1_score"} <= set(history)
    assert (tmp_path / "best.seqattn").exists() and (tmp_path / "sentiment.seqattn").exists()
    assert (tmp_path / "log.csv").read_text().count("\n") == 4  # header + 3 epochs
    x = namespace["x_test"][:4]
    loaded = namespace["seqattn"].load_model(tmp_path / "sentiment.seqattn")
    assert loaded.predict(x, verbose=0).shape == (4, 1)
