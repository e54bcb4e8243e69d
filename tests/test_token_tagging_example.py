"""examples/token_tagging.py: attention tags sentiment words in context; a per-token model
cannot (it is right only where the word is not negated, about half the time)."""

import importlib.util
from pathlib import Path

import pytest


def _example():
    path = Path(__file__).resolve().parents[1] / "examples" / "token_tagging.py"
    spec = importlib.util.spec_from_file_location("token_tagging", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_attention_beats_the_per_token_baseline_on_held_out_sentences():
    results = _example().main([])  # the defaults the README quotes (a few seconds)
    baseline, attention = results["per_token_baseline"], results["attention_tagger"]
    assert baseline["sentiment_word_accuracy"] < 0.65  # the word alone: about a coin flip
    assert attention["sentiment_word_accuracy"] > 0.9
    assert attention["token_accuracy"] > baseline["token_accuracy"]


@pytest.mark.parametrize("bad", [["--samples", "abc"]])
def test_bad_arguments_exit_with_usage(bad):
    with pytest.raises(SystemExit):
        _example().main(bad)
