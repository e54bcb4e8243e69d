"""`python -m seqattn predict` on files: a CSV in, a CSV out (label, probability, attended
tokens), standard input, texts the model cannot read flagged, and errors that name the flag."""

import csv
import io

import pytest

import seqattn
from seqattn import cli


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("predict") / "builtin.seqattn"
    assert cli.main(["train", "--data", "builtin", "--epochs", "2", "--out", str(path),
                     "--verbose", "0", "--learning-rate", "3e-3"]) == 0
    return str(path)


TEXTS = ["the plot was not good", "the acting was superb, to be honest", "zzz qqq xyzzy"]


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_in_csv_out_matches_model_predict(model_path, tmp_path, capsys):
    source = tmp_path / "reviews.csv"
    with open(source, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "review"])
        for i, t in enumerate(TEXTS):
            w.writerow([i, t])
    out = tmp_path / "predictions.csv"
    assert cli.main(["predict", model_path, "--input", str(source), "--text-column", "review",
                     "--output", str(out)]) == 0
    assert "3 texts classified" in capsys.readouterr().err
    rows = _rows(out.read_text(encoding="utf-8"))
    assert [r["text"] for r in rows] == TEXTS
    assert list(rows[0]) == ["row", "label", "probability", "attended", "flag", "text"]
    p = seqattn.load_model(model_path).predict(TEXTS[:2], verbose=0)[:, 0]
    for r, q in zip(rows[:2], p):
        expected = ("positive", q) if q >= 0.5 else ("negative", 1 - q)
        assert r["label"] == expected[0] and float(r["probability"]) == pytest.approx(
            expected[1], abs=1e-6)
        assert r["flag"] == "" and r["attended"]  # tokens the attention looked at
    # every word out of the vocabulary: flagged, no label or probability
    assert rows[2]["flag"] == "no_known_tokens" and rows[2]["label"] == ""
    assert rows[2]["probability"] == ""


def test_stdin_one_text_per_line_to_stdout(model_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(TEXTS) + "\n\n"))
    assert cli.main(["predict", model_path, "--input", "-"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert [r["text"] for r in rows] == TEXTS and [r["row"] for r in rows] == ["0", "1", "2"]


def test_arguments_flag_unknown_texts_instead_of_guessing(model_path, capsys):
    assert cli.main(["predict", model_path, TEXTS[0], TEXTS[2]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[0] in ("positive", "negative")
    assert lines[-1] == f"no_known_tokens\t-\t{TEXTS[2]}"


@pytest.mark.parametrize("args, message", [
    (["--input", "missing.csv"], "--input missing.csv: no such file"),
    (["--input", "{csv}", "--text-column", "body"], "--text-column 'body' is not a column of "),
    (["--input", "{empty}"], "has a header but no rows"),
    ([], "give texts as arguments, or --input PATH"),
    (["a text", "--input", "{csv}"], "not both"),
    (["a text", "--output", "out.csv"], "--output writes the CSV of --input"),
    (["--input", "{csv}", "--output", "/nonexistent/dir/out.csv"], "--output /nonexistent"),
])
def test_errors_name_the_flag(model_path, tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.csv").write_text("id,text\n1,the music was good\n", encoding="utf-8")
    (tmp_path / "e.csv").write_text("id,text\n", encoding="utf-8")
    args = [a.replace("{csv}", "r.csv").replace("{empty}", "e.csv") for a in args]
    assert cli.main(["predict", model_path, *args]) == 2
    assert message in capsys.readouterr().err


def test_empty_stdin_is_an_error(model_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n  \n"))
    assert cli.main(["predict", model_path, "--input", "-"]) == 2
    assert "--input -: standard input holds no text" in capsys.readouterr().err


def test_bad_top_names_the_flag(model_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["predict", model_path, "x", "--top", "0"])
    assert "--top" in capsys.readouterr().err
