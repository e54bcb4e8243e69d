"""`python -m seqattn train|predict`: options, messages, a full train -> save -> predict loop."""

import csv
import subprocess
import sys

import numpy as np
import pytest

import seqattn
from seqattn import cli

TRAIN_OPTIONS = ["--data", "--data-dir", "--text-column", "--label-column", "--model",
                 "--epochs", "--batch-size", "--maxlen", "--vocab-size", "--learning-rate",
                 "--dropout", "--validation-split", "--seed", "--threads", "--out", "--verbose",
                 "--truncation", "--tokenizer", "--ngrams", "--schedule"]


def test_help_documents_every_option():
    out = subprocess.run([sys.executable, "-m", "seqattn", "train", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for option in TRAIN_OPTIONS:
        assert option in out, option
    assert "builtin|imdb|sst2|mr|PATH" in out
    out = subprocess.run([sys.executable, "-m", "seqattn", "predict", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--top" in out and "texts" in out


@pytest.mark.parametrize("argv,message", [
    (["train", "--data", "builtin", "--epochs", "0"], "expected a positive integer, received '0'"),
    (["train", "--data", "builtin", "--model", "huge"], "invalid choice: 'huge'"),
    (["train", "--data", "builtin", "--truncation", "middle"], "invalid choice: 'middle'"),
    (["train", "--data", "builtin", "--validation-split", "1.5"], "fraction in (0, 1)"),
    (["train", "--data", "builtin", "--learning-rate", "nan"], "positive number"),
    (["train"], "the following arguments are required: --data"),
    (["fly"], "invalid choice: 'fly'"),
])
def test_bad_options_exit_2_with_a_message(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_files_are_clear_errors(tmp_path, capsys):
    assert cli.main(["train", "--data", str(tmp_path / "nope.csv")]) == 2
    assert "not one of builtin, imdb, sst2, mr and no such file" in capsys.readouterr().err
    assert cli.main(["predict", str(tmp_path / "nope.seqattn"), "text"]) == 2
    assert "nope.seqattn" in capsys.readouterr().err


def test_train_then_predict_on_the_builtin_corpus(tmp_path, capsys):
    out = tmp_path / "builtin.seqattn"
    code = cli.main(["train", "--data", "builtin", "--epochs", "3", "--out", str(out),
                     "--verbose", "2", "--learning-rate", "3e-3", "--threads", "2"])
    assert code == 0
    text = capsys.readouterr().out
    assert "6,000 training and 2,000 validation texts, 2 classes" in text
    accuracy = float(text.split("validation: loss ")[1].split("accuracy ")[1].split()[0])
    model = seqattn.load_model(out)
    texts, labels = seqattn.datasets.synthetic_sentiment(n_samples=2000, seed=1)
    ev = model.evaluate(texts, labels, verbose=0, batch_size=256, return_dict=True)
    assert ev["accuracy"] == pytest.approx(accuracy, abs=1e-4)  # the file is what was trained
    assert accuracy > 0.6
    assert cli.main(["predict", str(out), "the plot was dull but the acting was superb",
                     "not good", "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[0] in ("positive", "negative")
    p = float(lines[0].split("\t")[1])
    prob = float(model.predict(["the plot was dull but the acting was superb"], verbose=0)[0, 0])
    assert p == pytest.approx(max(prob, 1 - prob), abs=1e-3)
    assert lines[1].startswith("    attended: ") and lines[1].count("(") == 2
    assert len(lines) == 4


def test_train_on_a_csv_with_three_classes(tmp_path, capsys):
    rng = np.random.default_rng(0)
    words = {0: "awful", 1: "fine", 2: "superb"}
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "stars"])
        for _ in range(300):
            k = int(rng.integers(0, 3))
            filler = " ".join(rng.choice(["the", "film", "was", "a", "plot"], 4))
            writer.writerow([f"{filler} {words[k]}, truly", k])
    out = tmp_path / "csv.seqattn"
    assert cli.main(["train", "--data", str(path), "--text-column", "review", "--label-column",
                     "stars", "--epochs", "8", "--maxlen", "8", "--out", str(out),
                     "--verbose", "0", "--learning-rate", "1e-2"]) == 0
    text = capsys.readouterr().out
    assert "240 training and 60 validation texts, 3 classes" in text
    assert cli.main(["predict", str(out), "the film was superb"]) == 0
    assert capsys.readouterr().out.startswith("class 2\t")


def test_predict_needs_a_text_model(tmp_path, capsys):
    model = seqattn.Sequential([seqattn.Input((4,), dtype="int32"),
                                seqattn.layers.Embedding(10, 4),
                                seqattn.layers.GlobalAveragePooling1D(),
                                seqattn.layers.Dense(1, activation="sigmoid")])
    model.save(tmp_path / "ids.seqattn")
    assert cli.main(["predict", str(tmp_path / "ids.seqattn"), "hello"]) == 2
    assert "reads token ids, not text" in capsys.readouterr().err


def test_missing_dataset_folder_hints_at_data_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SEQATTN_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--data", "sst2"]) == 2
    err = capsys.readouterr().err
    assert "SST-2" in err and "hint: pass --data-dir DIR, the folder that holds sst2/" in err
    assert cli.main(["train", "--data", "mr", "--data-dir", str(tmp_path)]) == 2
    assert "hint" not in capsys.readouterr().err  # the user chose the folder: no hint


# ------------------------------------------------------------------ defaults (issue 18)


def _settings(argv):
    return cli._settings(cli.build_parser().parse_args(["train"] + argv))


@pytest.mark.parametrize("model,data,expected", [
    # (maxlen, truncation, ngrams, vocab_size, epochs, learning_rate, schedule, dropout)
    ("small", "imdb", (512, "post", 2, 20000, 2, 1e-3, "cosine", 0.1)),
    ("small", "reviews.csv", (512, "post", 2, 20000, 2, 1e-3, "cosine", 0.1)),
    ("small", "sst2", (64, "post", 1, 20000, 3, 1e-3, "cosine", 0.1)),
    ("small", "mr", (64, "post", 1, 20000, 3, 1e-3, "cosine", 0.1)),
    ("small", "builtin", (24, "post", 1, 20000, 8, 1e-3, "cosine", 0.1)),
    ("base", "imdb", (512, "post", 1, 20000, 2, 1e-3, "cosine", 0.1)),
    ("bow", "imdb", (1500, "post", 2, 200000, 3, 3e-3, "constant", 0.0)),
    ("bow", "mr", (128, "post", 2, 200000, 3, 3e-3, "constant", 0.0)),
])
def test_defaults_per_model_and_data(model, data, expected):
    got = _settings(["--data", data, "--model", model])
    assert (got.maxlen, got.truncation, got.ngrams, got.vocab_size, got.epochs,
            got.learning_rate, got.schedule, got.dropout) == expected


def test_flags_override_the_defaults_one_by_one():
    got = _settings(["--data", "imdb", "--maxlen", "100", "--truncation", "pre",
                     "--epochs", "5", "--dropout", "0", "--ngrams", "1", "--schedule",
                     "constant"])
    assert (got.maxlen, got.truncation, got.epochs, got.dropout, got.ngrams, got.schedule) == (
        100, "pre", 5, 0.0, 1, "constant")
    assert (got.vocab_size, got.learning_rate) == (20000, 1e-3)   # left to the recipe


def test_bag_of_ngrams_model_trains_saves_and_predicts(tmp_path, capsys):
    out = tmp_path / "bow.seqattn"
    assert cli.main(["train", "--data", "builtin", "--model", "bow", "--out", str(out),
                     "--verbose", "0", "--threads", "2"]) == 0
    text = capsys.readouterr().out
    assert "maxlen 48 (post)" in text
    accuracy = float(text.split("accuracy ")[1].split()[0])
    assert accuracy > 0.75   # a bag of word pairs reads the corpus's "not good" (0.85 measured)
    model = seqattn.load_model(out)
    vectorizer = model.get_layer("vectorizer")
    assert vectorizer.ngrams == 2 and vectorizer.truncation == "post"
    assert [type(layer).__name__ for layer in model.layers[1:]] == [
        "Embedding", "GlobalAveragePooling1D", "Dense"]
    assert cli.main(["predict", str(out), "not good at all"]) == 0
    line = capsys.readouterr().out.splitlines()
    assert len(line) == 1   # no attention layer: no "attended:" line
    assert model.optimizer.learning_rate == pytest.approx(3e-3)   # constant for the bag
    label, probability, echoed = line[0].split("\t")
    prob = float(model.predict(["not good at all"], verbose=0)[0, 0])
    assert float(probability) == pytest.approx(max(prob, 1 - prob), abs=1e-3)


def test_learning_rate_decays_to_zero_along_a_cosine_over_the_run(tmp_path, capsys):
    out = tmp_path / "m.seqattn"
    assert cli.main(["train", "--data", "builtin", "--epochs", "2", "--batch-size", "64",
                     "--truncation", "pre", "--out", str(out), "--verbose", "0"]) == 0
    model = seqattn.load_model(out)
    steps = 2 * -(-6000 // 64)   # 2 epochs of the 6,000 training texts in batches of 64
    schedule = seqattn.schedules.deserialize(model.optimizer.get_config()["learning_rate"])
    assert type(schedule).__name__ == "CosineDecay"
    assert schedule.get_config()["decay_steps"] == steps
    assert schedule(0) == pytest.approx(1e-3) and schedule(steps // 2) == pytest.approx(0.5e-3)
    assert model.optimizer.iterations == steps and model.optimizer.learning_rate == 0.0
    assert model.get_layer("vectorizer").truncation == "pre"


def test_resume_with_more_epochs_stretches_the_decay_over_the_new_total(tmp_path, capsys):
    out = tmp_path / "m.seqattn"
    common = ["train", "--data", "builtin", "--batch-size", "64", "--out", str(out),
              "--verbose", "0"]
    assert cli.main(common + ["--epochs", "1"]) == 0
    once = seqattn.load_model(out)
    steps = -(-6000 // 64)
    assert once.optimizer.learning_rate == 0.0   # a 1-epoch run ends its decay at 0
    assert cli.main(common + ["--epochs", "3", "--resume", str(out)]) == 0
    assert "resuming" in capsys.readouterr().out
    resumed = seqattn.load_model(out)
    assert resumed._epoch == 3 and resumed.optimizer.iterations == 3 * steps
    schedule = seqattn.schedules.deserialize(resumed.optimizer.get_config()["learning_rate"])
    assert schedule.get_config()["decay_steps"] == 3 * steps
    # Epochs 2 and 3 trained at a rate above 0: the weights moved.
    moved = [np.max(np.abs(a - b)) for a, b in zip(once.get_weights(), resumed.get_weights())]
    assert min(moved) > 0


def test_words_and_pairs_model_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "pairs.seqattn"
    assert cli.main(["train", "--data", "builtin", "--ngrams", "2", "--out", str(out),
                     "--verbose", "0"]) == 0
    assert "pairs, maxlen 24 (post)" in capsys.readouterr().out
    model = seqattn.load_model(out)
    words, pairs = model.get_layer("vectorizer"), model.get_layer("pair_vectorizer")
    assert pairs.ngrams == (2,) and words.ngrams is None
    assert pairs.output_sequence_length == words.output_sequence_length == 24
    assert model.get_layer("pair_embedding").get_weights()[0].shape == (
        pairs.vocabulary_size(), 32)
    assert cli.main(["predict", str(out), "not good at all"]) == 0
    assert "attended: " in capsys.readouterr().out
