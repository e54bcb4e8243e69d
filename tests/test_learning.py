"""The built-in corpus needs word order: self-attention with positions learns it, a
bag-of-words model cannot. Both models are the ones examples/train_sentiment.py trains."""

import importlib.util
import pathlib

import pytest

import seqattn

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "train_sentiment.py"


def _example():
    spec = importlib.util.spec_from_file_location("train_sentiment", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_attention_reaches_095_and_bag_of_words_stays_clearly_below(capsys):
    results = _example().main(["--samples", "4000", "--epochs", "10", "--verbose", "0",
                               "--seed", "0"])
    attention, _ = results["self_attention"]
    bag, _ = results["bag_of_words"]
    assert attention >= 0.95, results
    assert bag <= 0.80, results
    out = capsys.readouterr().out
    assert "held-out accuracy" in out and "self-attention model on new sentences" in out


def test_vectorized_corpus_has_padding_and_both_labels():
    texts, labels = seqattn.datasets.synthetic_sentiment(n_samples=200, seed=3)
    vec = seqattn.text.TextVectorization(max_tokens=500, output_sequence_length=24)
    vec.adapt(texts)
    x = vec(texts)
    assert x.shape == (200, 24) and x.dtype.name == "int32"
    assert (x == 0).any() and x.max() < vec.vocabulary_size()
    assert set(labels.tolist()) == {0, 1}
