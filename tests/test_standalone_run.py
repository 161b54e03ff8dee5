"""A run directory stands alone: with its training data gone, every shipped task's run
still predicts, evaluates on new data and exports — through the CLI and through
``seqforge.load_run(...)``.

Each case trains a tiny model on data the test writes, then moves the data away (or, for
generated data, makes loading it an error) before using the run directory.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import seqforge
from seqforge.cli import app
from seqforge.data.base import DatasetSource
from seqforge.plugins import add_commands

runner = CliRunner()
add_commands(app)  # generate, translate: what the console script adds before running
TRAIN = {"epochs": 1, "batch_size": 16, "threads": 1, "limit_train_batches": 3}


def _cli(*args: str) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    return res.output


def _train(spec: dict, tmp_path: Path) -> Path:
    run = seqforge.train(seqforge.load_spec(spec, base_dir=tmp_path), out=tmp_path / "runs")
    return run.dir


def _prices(path: Path, n: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    days = np.datetime64("2010-01-01") + np.arange(n)
    open_ = 100 + np.cumsum(rng.normal(0, 1, n))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Date", "Open", "High"])
        for d, o in zip(days, open_):
            w.writerow([str(d), f"{o:.4f}", f"{o + 1:.4f}"])
    return path


@contextlib.contextmanager
def data_loading_refused():
    """Inside, loading any dataset is an error: a loaded run must not need its data."""
    def refuse(self):
        raise AssertionError(f"{type(self).__name__}.load() was called: the run directory "
                             "should stand alone")
    with pytest.MonkeyPatch.context() as m:
        for cls in _dataset_classes():
            m.setattr(cls, "load", refuse)
        yield


def _dataset_classes():
    seen, todo = set(), [DatasetSource]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return seen


def _standalone(run_dir: Path, predict_input, *, exportable: bool = True) -> list[dict]:
    """load_run + predict (+ export) with data loading refused."""
    with data_loading_refused():
        run = seqforge.load_run(run_dir)
        rows = run.predict(predict_input)
        assert rows and all(isinstance(r, dict) for r in rows)
        json.dumps(rows)  # plain values only
        if exportable:
            out = _cli("export", str(run_dir))
            assert "exported to" in out
            meta = json.loads((run_dir / "export" / "export.json").read_text())
            assert meta["data"]["input"] in ("sequence", "vector")
    return rows


@pytest.mark.slow
def test_forecast_run_predicts_from_only_the_columns_it_reads(tmp_path):
    src = _prices(tmp_path / "prices.csv", 160)
    spec = {"name": "standalone_forecast", "data": {"dataset": "timeseries_csv",
            "source": "prices.csv", "target": "Open", "window": 10},
            "model": {"topology": "many_to_one", "cell": "lstm", "hidden_size": 8},
            "task": "forecast", "train": TRAIN}
    run_dir = _train(spec, tmp_path)
    shutil.move(src, tmp_path / "elsewhere.csv")  # the training file is gone
    # a CSV of Date and Open only: the model reads Open; High is not needed
    recent = tmp_path / "recent.csv"
    recent.write_text("Date,Open\n" + "".join(f"2020-02-{d:02d},{100 + d}\n" for d in range(1, 16)))
    out = _cli("predict", str(run_dir), "--input", str(recent))
    lines = out.strip().splitlines()
    assert lines[0] == "after,Open_t+1" and len(lines) == 1 + 15 - 10 + 1
    new = _prices(tmp_path / "new.csv", 80, seed=1)
    out = _cli("evaluate", str(run_dir), "--data", f"source={new}")
    assert "rmse" in out and "persistence" in out
    out = _cli("evaluate", str(run_dir), "--data", str(new))  # every window of a whole file
    assert "rmse" in out
    by_path = _standalone(run_dir, recent)
    with data_loading_refused():
        by_table = seqforge.load_run(run_dir).predict(
            {"Date": [f"2020-02-{d:02d}" for d in range(1, 16)],
             "Open": [100.0 + d for d in range(1, 16)]})
        assert by_table == by_path
        rows = seqforge.load_run(run_dir).predict(np.arange(101, 116, dtype=float)[:, None],
                                                  columns=["Open"])
        assert [r["Open_t+1"] for r in rows] == [r["Open_t+1"] for r in by_path]
    missing = tmp_path / "dates_only.csv"
    missing.write_text("Date,Close\n2020-01-01,1\n")
    res = runner.invoke(app, ["predict", str(run_dir), "--input", str(missing)])
    assert res.exit_code == 2 and "'Open'" in res.output


@pytest.mark.slow
def test_classify_run_predicts_and_scores_new_texts(tmp_path):
    rows = ([f"a fine good film {i}", "pos"] for i in range(30))
    rows = list(rows) + [[f"a dull bad film {i}", "neg"] for i in range(30)]
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([["text", "label"], *rows])
    spec = {"name": "standalone_text", "data": {"dataset": "text_csv", "source": "reviews.csv"},
            "model": {"topology": "many_to_one", "cell": "gru", "hidden_size": 8,
                      "embedding": 8}, "task": "classify", "train": TRAIN}
    run_dir = _train(spec, tmp_path)
    path.unlink()
    new = tmp_path / "new.csv"
    new.write_text("text,label\na good film,pos\na bad film,neg\nzzz,pos\n")
    rows = _standalone(run_dir, new)
    assert [r["true_label"] for r in rows] == ["pos", "neg", "pos"]
    assert {r["label"] for r in rows} <= {"pos", "neg"}
    with data_loading_refused():
        res = seqforge.load_run(run_dir).evaluate(data=new)
    assert res["examples"] == 3 and "test_accuracy" in res["model"]
    assert "majority class" in [b["name"] for b in res["baselines"]]
    assert res["baseline"] in res["baselines"]  # the strongest of them


@pytest.mark.slow
def test_language_model_run_scores_lines_of_new_text(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("the cat sat on the mat\n" * 60)
    spec = {"name": "standalone_lm", "data": {"dataset": "text", "source": "corpus.txt",
            "seq_len": 16}, "model": {"topology": "many_to_many", "cell": "gru",
            "hidden_size": 16, "embedding": 8}, "task": "language_model",
            "train": {**TRAIN, "batch_size": 4}}
    run_dir = _train(spec, tmp_path)
    text.unlink()
    new = tmp_path / "new.txt"
    new.write_text("the mat sat\n\nthe cat\n")
    rows = _standalone(run_dir, new)
    assert [r["line"] for r in rows] == [1, 3] and "bits_per_char" in rows[0]
    out = _cli("generate", str(run_dir), "--prompt", "the ", "--length", "5", "--seed", "1")
    assert out.startswith("the ")


@pytest.mark.slow
def test_seq2seq_run_translates_and_scores_a_pair_file(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    words = sorted({"".join(p) for n in (3, 4) for p in itertools.product("abc", repeat=n)})
    pairs.write_text("".join(f"{w}\t{w[::-1]}\n" for w in words))
    spec = {"name": "standalone_s2s", "data": {"dataset": "seq2seq", "source": "pairs.tsv",
            "val": 0.2, "test": 0.2}, "model": {"topology": "encoder_decoder", "cell": "gru",
            "hidden_size": 8, "embedding": 4}, "task": "seq2seq", "train": TRAIN}
    run_dir = _train(spec, tmp_path)
    pairs.unlink()
    sources = tmp_path / "sources.txt"
    sources.write_text("abc\ncab\n")
    rows = _standalone(run_dir, sources, exportable=False)
    assert [r["source"] for r in rows] == ["abc", "cab"]
    out = _cli("translate", str(run_dir), "bca")
    assert out.startswith("bca → ")
    scored = tmp_path / "scored.tsv"
    scored.write_text("abc\tcba\nbca\tacb\n")
    with data_loading_refused():
        res = seqforge.load_run(run_dir).evaluate(data=scored)
    assert res["examples"] == 2 and "test_exact_match" in res["model"]
    res = runner.invoke(app, ["export", str(run_dir)])
    assert res.exit_code == 2 and "encoder_decoder" in res.output


@pytest.mark.slow
def test_anomaly_run_flags_points_of_a_new_series(tmp_path):
    rng = np.random.default_rng(0)
    values = np.sin(np.arange(600) / 5) + rng.normal(0, 0.05, 600)
    series = tmp_path / "series.csv"
    series.write_text("value\n" + "".join(f"{v:.5f}\n" for v in values))
    spec = {"name": "standalone_anomaly", "data": {"dataset": "anomaly_series",
            "source": "series.csv", "window": 16}, "model": {"topology": "autoencoder",
            "cell": "gru", "hidden_size": 8}, "task": "anomaly", "train": TRAIN}
    run_dir = _train(spec, tmp_path)
    series.unlink()
    new = tmp_path / "new.csv"
    new.write_text("value\n" + "".join(f"{v:.5f}\n" for v in values[:100]))
    rows = _standalone(run_dir, new)
    assert len(rows) == 100 and {"score", "anomaly"} <= set(rows[0])


@pytest.mark.slow
def test_generated_data_runs_predict_without_regenerating(tmp_path):
    spec = {"name": "standalone_waves", "data": {"dataset": "waveforms", "n_train": 64,
            "n_val": 16, "n_test": 16, "length": 12}, "model": {"topology": "one_to_many",
            "cell": "gru", "hidden_size": 8}, "task": "generate_sequence", "train": TRAIN}
    run_dir = _train(spec, tmp_path)
    rows = _standalone(run_dir, {"kind": ["sine", "square"], "freq": [0.05, 0.1]})
    assert [r["kind"] for r in rows] == ["sine", "square"] and "y_11" in rows[0]
