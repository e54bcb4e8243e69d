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
