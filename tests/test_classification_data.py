"""Sequence classification: the text_csv and digits datasets, padding invariance, end to
end (digits GRU, a text CSV through the CLI), bad input, the shipped specs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from classify_helpers import (
    load,
    review_rows,
    text_spec,
    write_csv,
)
from typer.testing import CliRunner

from seqforge.api import build, load_run, load_spec, train
from seqforge.cli import app
from seqforge.data.facets import Classes
from seqforge.data.sources.digits import Digits, DigitsParams
from seqforge.data.sources.text_csv import TextCSV, TextCSVParams
from seqforge.data.transforms.vocab import UNK_ID
from seqforge.errors import DataError

runner = CliRunner()


# ----------------------------------------------------------------------------- text_csv


def test_text_csv_tokens_vocab_and_lengths(tmp_path):
    write_csv(tmp_path / "r.csv", review_rows(60))
    p = TextCSVParams(source="r.csv", text_column="review", label_column="sentiment",
                      max_len=5, min_freq=1)
    src = TextCSV(p, base_dir=tmp_path, seed=0)
    b = src.load()
    assert b.info.facet(Classes).names == ["neg", "pos"] and len(b.info.facet(Classes).names) == 2
    assert len(b.train) + len(b.val) + len(b.test) == 60
    # truncated to max_len; lower-cased words
    assert all(len(x) <= 5 for x in b.train.columns["x"])
    assert src.tokens("Great FILM, really.") == ["great", "film", ",", "really", "."]
    # the vocabulary comes from the training split only
    train_tokens = {t for text in b.train.columns["text"] for t in src.tokens(text)}
    assert set(b.info.vocab.itos[4:]) == train_tokens
    for text, x in zip(b.test.columns["text"], b.test.columns["x"]):
        for tok, i in zip(src.tokens(text), x.tolist()):
            assert (i == UNK_ID) == (tok not in train_tokens)
    # untruncated texts vary in length: the collate pads them and records the lengths
    full = TextCSV(p.model_copy(update={"max_len": None}), base_dir=tmp_path, seed=0).load()
    items = [full.train[i] for i in range(8)]
    batch = full.collate(items)
    assert len({len(it["x"]) for it in items}) > 1
    assert batch["x"].shape == (8, int(batch["lengths"].max()))
    assert batch["lengths"].tolist() == [len(it["x"]) for it in items]
    assert batch["text"] == [it["text"] for it in items]


def test_text_csv_char_level_and_numeric_label_order(tmp_path):
    rows = [{"text": t, "label": lab} for t, lab in
            [("ab", "10"), ("ba", "2"), ("abc", "10"), ("cab", "2"), ("b", "10"), ("a", "2")]]
    write_csv(tmp_path / "c.csv", rows)
    src = TextCSV(TextCSVParams(source="c.csv", level="char", val=0, test=0), base_dir=tmp_path)
    b = src.load()
    assert b.info.facet(Classes).names == ["2", "10"]  # numeric labels sort as numbers
    assert sorted(b.info.vocab.itos[4:]) == ["a", "b", "c"]


@pytest.mark.parametrize("content, match", [
    ("review,stars\nnice,5\nbad,1\n", "no column 'sentiment'"),
    ("text,sentiment\nnice,pos\nbad,neg\n", "no column 'review'"),
    ("", "empty"),
    ("review,sentiment\n", "no data rows"),
    ("review,sentiment\nnice,pos\nok,pos\n", "at least two classes"),
    ("review,sentiment\nnice,pos\n,neg\n", "line 3"),
])
def test_text_csv_bad_files_name_the_file(tmp_path, content, match):
    (tmp_path / "bad.csv").write_text(content, encoding="utf-8")
    p = TextCSVParams(source="bad.csv", text_column="review", label_column="sentiment")
    with pytest.raises(DataError, match=match) as info:
        TextCSV(p, base_dir=tmp_path).load()
    assert "bad.csv" in str(info.value)


def test_text_csv_missing_file_and_bad_fractions(tmp_path):
    with pytest.raises(DataError, match="file not found") as info:
        TextCSV(TextCSVParams(source="nope.csv"), base_dir=tmp_path).load()
    assert "nope.csv" in str(info.value)
    with pytest.raises(ValueError, match="leaves nothing to train on"):
        TextCSVParams(source="x.csv", val=0.5, test=0.5)


def test_read_inputs_for_prediction(tmp_path):
    write_csv(tmp_path / "r.csv", review_rows(60))
    src = TextCSV(TextCSVParams(source="r.csv", text_column="review", label_column="sentiment"),
                  base_dir=tmp_path)
    bundle = src.load()
    # no label column: just texts
    f = write_csv(tmp_path / "new.csv", [{"review": "A great movie"}, {"review": "zzz qqq"}])
    items = src.read_inputs(f, bundle.info)
    assert [it["text"] for it in items] == ["A great movie", "zzz qqq"]
    assert items[1]["x"].tolist() == [UNK_ID, UNK_ID] and "y" not in items[0]
    # with known labels they come along as targets
    f = write_csv(tmp_path / "lab.csv", [{"review": "bad", "sentiment": "neg"}])
    assert int(src.read_inputs(f, bundle.info)[0]["y"]) == bundle.info.facet(Classes).names.index("neg")
    # an unknown label names itself, the known ones, the file and the line
    f = write_csv(tmp_path / "unk.csv", [{"review": "bad", "sentiment": "neg"},
                                         {"review": "meh", "sentiment": "neutral"}])
    with pytest.raises(DataError, match=r"label 'neutral'.*known labels: 'neg', 'pos'") as info:
        src.read_inputs(f, bundle.info)
    assert "unk.csv (line 3)" in str(info.value)
    # no text column
    f = write_csv(tmp_path / "nt.csv", [{"body": "bad"}])
    with pytest.raises(DataError, match="no column 'review'"):
        src.read_inputs(f, bundle.info)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty") as info:
        src.read_inputs(tmp_path / "empty.csv", bundle.info)
    assert "empty.csv" in str(info.value)


# ----------------------------------------------------------------------------- padding


@pytest.mark.parametrize("pooling, bidirectional, cell", [
    ("last", False, "gru"), ("last", True, "lstm"), ("mean", True, "gru"), ("max", False, "rnn")])
def test_predictions_do_not_depend_on_padding(tmp_path, pooling, bidirectional, cell):
    write_csv(tmp_path / "r.csv", review_rows(60))
    spec = load(text_spec(tmp_path / "r.csv", model={"pooling": pooling, "cell": cell,
                                                     "bidirectional": bidirectional}), tmp_path)
    built = build(spec)
    model = built.model.eval()
    src = built.source
    texts = ["good", "the plot was awful", "a very very long film with really dull scenes and "
             "music of the story and the acting and this plot"]
    items = [{"x": torch.tensor(built.bundle.info.vocab.encode(src.tokens(t)))} for t in texts]
    with torch.no_grad():
        alone = [model(built.bundle.collate([it]))[0] for it in items]  # no padding at all
        together, _ = model(built.bundle.collate(items))  # short texts padded to the longest
        reordered, _ = model(built.bundle.collate(items[::-1]))
    for i in range(3):
        torch.testing.assert_close(together[i], alone[i][0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(reordered[2 - i], alone[i][0], atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------- digits


def test_digits_dataset_splits_and_info():
    b = Digits(DigitsParams(), seed=0).load()
    assert b.info.facet(Classes).names == [str(d) for d in range(10)] and b.info.n_features == 8
    assert b.train[0]["x"].shape == (8, 8) and b.train[0]["y"].dtype == torch.long
    n = len(b.train) + len(b.val) + len(b.test)
    assert n == 1797 and abs(len(b.test) - 0.2 * n) <= 10
    assert set(b.test.columns["y"].tolist()) == set(range(10))
    shuffled = Digits(DigitsParams(split="shuffle", val=0, test=0.3), seed=1).load()
    assert shuffled.val is None and abs(len(shuffled.test) - 539) <= 1


def test_digits_read_inputs(tmp_path):
    from sklearn.datasets import load_digits

    d = load_digits()
    src = Digits(DigitsParams(), seed=0)
    bundle = src.load()
    rows = [{**{f"p{i}": int(v) for i, v in enumerate(d.data[k])}, "label": str(d.target[k])}
            for k in range(3)]
    items = src.read_inputs(write_csv(tmp_path / "img.csv", rows), bundle.info)
    assert torch.allclose(items[1]["x"], torch.tensor(d.images[1] / 16.0, dtype=torch.float32))
    assert [int(it["y"]) for it in items] == d.target[:3].tolist()
    with pytest.raises(DataError, match="expected 64 pixel columns.*found 63"):
        src.read_inputs(write_csv(tmp_path / "short.csv",
                                  [{f"p{i}": 0 for i in range(63)}]), bundle.info)
    with pytest.raises(DataError, match=r"label '11'"):
        src.read_inputs(write_csv(tmp_path / "l.csv", [{**rows[0], "label": "11"}]), bundle.info)
    with pytest.raises(DataError, match=r"must lie in 0..16") as info:
        src.read_inputs(write_csv(tmp_path / "big.csv", [{**rows[0], "p5": 255}]), bundle.info)
    assert "big.csv (line 2)" in str(info.value)


# ----------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_digits_gru_beats_majority_by_far(tmp_path):
    spec = load_spec({
        "name": "digits_small", "seed": 0,
        "data": {"dataset": "digits", "val": 0.1, "test": 0.2},
        "model": {"topology": "many_to_one", "cell": "gru", "hidden_size": 32},
        "task": "classify",
        "train": {"epochs": 6, "batch_size": 32, "optimizer": {"name": "adam", "lr": 5.0e-3},
                  "device": "cpu"},
    }, base_dir=tmp_path)
    run = train(spec, out=tmp_path, quiet=True)
    test = run.summary["test"]
    by_name = {b["name"]: b for b in run.summary["baselines"]}
    base = by_name["majority class"]
    assert base["accuracy"] < 0.15
    assert test["test_accuracy"] > 0.8
    assert test["test_accuracy"] > base["accuracy"] + 0.6
    assert test["test_macro_f1"] > base["macro_f1"] + 0.6
    # the summary's baseline is the strongest: 1-NN on the 64 pixels is a strong one here
    assert set(by_name) == {"majority class", "1-NN Euclidean", "1-NN DTW"}
    assert run.summary["baseline"]["accuracy"] == max(b["accuracy"] for b in by_name.values())
    assert by_name["1-NN Euclidean"]["accuracy"] > 0.9
    cm = np.loadtxt(run.dir / "confusion_matrix.csv", delimiter=",", skiprows=1,
                    usecols=range(1, 11))
    assert cm.shape == (10, 10) and cm.sum() == len(run.bundle.test)
    assert np.trace(cm) / cm.sum() == pytest.approx(test["test_accuracy"])
    assert (run.dir / "confusion_matrix.png").stat().st_size > 0


@pytest.mark.slow
def test_text_csv_end_to_end_and_cli_predict(tmp_path):
    write_csv(tmp_path / "reviews.csv", review_rows(240))
    run = train(load(text_spec(tmp_path / "reviews.csv"), tmp_path), out=tmp_path / "runs",
                quiet=True)
    test = run.summary["test"]
    base = {b["name"]: b for b in run.summary["baselines"]}["majority class"]
    assert base["accuracy"] == pytest.approx(2 / 3, abs=0.03)  # "pos" is the 2:1 majority
    assert test["test_accuracy"] > 0.9 and test["test_accuracy"] > base["accuracy"] + 0.2
    assert test["test_macro_f1"] > 0.85
    for name in ("confusion_matrix.png", "confusion_matrix.csv", "predictions.csv"):
        assert (run.dir / name).exists(), name

    # seqforge predict: texts in (any length, a label column optional), labels out
    new = write_csv(tmp_path / "new.csv", [
        {"review": "What a superb and lovely film.", "sentiment": "pos"},
        {"review": "Awful.", "sentiment": "neg"},
        {"review": "the acting was poor and the plot was very dull", "sentiment": "neg"}])
    out = tmp_path / "pred.csv"
    res = runner.invoke(app, ["predict", str(run.dir), "--input", str(new), "--out", str(out)])
    assert res.exit_code == 0, res.output
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["label"] for r in rows] == ["pos", "neg", "neg"]
    assert all(0.5 < float(r["probability"]) <= 1.0 for r in rows)
    assert rows[1]["text"] == "Awful." and rows[1]["true_label"] == "neg"
    # the loaded run predicts what the trained one did
    loaded = load_run(run.dir)
    assert [r["label"] for r in loaded.predict(loaded.bundle.test)] == \
        [r["label"] for r in run.predict(run.bundle.test)]

    # bad input: an unknown label, a file without the text column, an empty file → exit 2
    bad = write_csv(tmp_path / "bad.csv", [{"review": "ok", "sentiment": "mixed"}])
    res = runner.invoke(app, ["predict", str(run.dir), "--input", str(bad)])
    assert res.exit_code == 2 and "mixed" in res.output and "bad.csv" in res.output
    assert "Traceback" not in res.output
    nocol = write_csv(tmp_path / "nocol.csv", [{"body": "ok"}])
    res = runner.invoke(app, ["predict", str(run.dir), "--input", str(nocol)])
    assert res.exit_code == 2 and "no column 'review'" in res.output
    (tmp_path / "empty.csv").write_text("")
    res = runner.invoke(app, ["predict", str(run.dir), "--input", str(tmp_path / "empty.csv")])
    assert res.exit_code == 2 and "empty.csv" in res.output


def test_cli_run_with_bad_csv_exits_2(tmp_path):
    (tmp_path / "r.csv").write_text("text,stars\nnice,5\nbad,1\n", encoding="utf-8")
    import yaml

    spec = text_spec(tmp_path / "r.csv")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    res = runner.invoke(app, ["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "runs"),
                              "--quiet"])
    assert res.exit_code == 2, res.output
    assert "r.csv" in res.output and "no column 'review'" in res.output
    assert "Traceback" not in res.output


def test_shipped_specs_validate():
    root = Path(__file__).resolve().parents[1] / "specs"
    for name in ("digits_gru.yaml", "docstring_topics.yaml", "ucr/basicmotions_lstm_fcn.yaml",
                 "ucr/japanesevowels_gru.yaml", "kdd_tsad_135_lstm_ae.yaml",
                 "docstring_bshift.yaml", "ucr/arrowhead_lstm_fcn.yaml",
                 "ucr/osuleaf_lstm_fcn.yaml", "ucr/pickupgesture_lstm_fcn.yaml",
                 "ucr/acsf1_lstm_fcn.yaml"):
        res = runner.invoke(app, ["validate", str(root / name)])
        assert res.exit_code == 0, res.output
        assert "trial batch ok" in res.output
