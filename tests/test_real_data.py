"""A fast check on real data (well under a minute): the small Transformer learns MR sentence
polarity well above chance. The full-size runs and their figures are in the README."""

import pathlib

import numpy as np
import pytest

import seqattn
from seqattn import cli

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.skipif(not (DATA / "mr" / "rt-polarity.pos").exists(),
                    reason="../shared/data/mr (the rt-polarity files) is not beside the project")
def test_small_model_learns_movie_review_polarity():
    (train_texts, train_labels), (test_texts, test_labels) = seqattn.datasets.mr.load_data(
        DATA / "mr")
    assert len(train_texts) + len(test_texts) == 10662
    seqattn.utils.set_random_seed(0)
    vectorizer = seqattn.text.TextVectorization(max_tokens=20000, output_sequence_length=48)
    vectorizer.adapt(train_texts)
    model = cli.build_model(vectorizer, "small", num_classes=2, dropout=0.1)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(train_texts, train_labels, epochs=2, batch_size=32, verbose=0)
    accuracy = model.evaluate(test_texts, test_labels, verbose=0, return_dict=True)["accuracy"]
    # Chance is 0.5 (balanced); the small model reaches about 0.75 here in ~10 s.
    assert accuracy > 0.68, accuracy
    assert np.mean(test_labels) == pytest.approx(0.5, abs=0.02)
