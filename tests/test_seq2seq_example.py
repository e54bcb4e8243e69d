"""examples/seq2seq.py in a tiny configuration (seconds): it trains, decodes greedily and with
a beam, reports exact match on held-out and longer sources, and reads a cross-attention map."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "seq2seq.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("seq2seq_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_sort_run_learns_and_reports_exact_match(example, capsys):
    results = example.main(["--samples", "2000", "--epochs", "4", "--width", "32",
                            "--intermediate", "64", "--test-samples", "100", "--long-len", "10",
                            "--verbose", "0"])
    out = capsys.readouterr().out
    greedy, beam, _, _ = results["same"]
    assert greedy >= 0.8 and beam >= 0.8  # the full run (6000 pairs, 6 epochs) reaches 1.0
    assert set(results) == {"same", "longer"} and 0 <= results["longer"][0] <= 1
    assert "held-out lengths 9..10: exact match greedy" in out
    assert "most attended source word" in out


def test_learned_positions_and_reverse_run(example, capsys):
    results = example.main(["--task", "reverse", "--positions", "learned", "--samples", "300",
                            "--epochs", "1", "--width", "16", "--heads", "2",
                            "--intermediate", "16", "--test-samples", "20", "--max-len", "4",
                            "--long-len", "4", "--verbose", "0"])
    assert set(results) == {"same"}  # no longer lengths asked for
    assert "task=reverse positions=learned" in capsys.readouterr().out


@pytest.mark.slow
def test_readme_sequence_to_sequence_block_runs():
    import re
    text = (EXAMPLE.parents[1] / "README.md").read_text(encoding="utf-8")
    code = re.search(r"### Sequence to sequence\n.*?```python\n(.*?)```", text, re.S).group(1)
    assert "n_samples=6000" in code and "epochs=6" in code
    namespace = {}
    exec(compile(code.replace("n_samples=6000", "n_samples=3000").replace("epochs=6", "epochs=4"),
                 "README seq2seq", "exec"), namespace)
    # smaller than the README's run (which gives 1.0 on these longer inputs)
    assert namespace["exact"] >= 0.8
    assert len(namespace["beams"]) == 200
    H, T, S = namespace["attention"].shape
    assert (H, S) == (4, len(namespace["test_src"][0])) and T == len(namespace["out"][0])
