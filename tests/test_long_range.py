"""Long-range memory datasets and the regress task: what each example asks, the baselines,
reading new inputs, bad inputs; the shipped specs end to end (slow)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from seqforge.api import load_run, load_spec, train
from seqforge.cli import app
from seqforge.data.generators.memory import BLANK, DELIMITER, adding_problem, copy_sequences
from seqforge.data.io.table import as_table
from seqforge.data.sources.adding import Adding, AddingParams
from seqforge.data.sources.copy import Copy, CopyParams
from seqforge.data.sources.sequential_digits import SequentialDigits, SequentialDigitsParams
from seqforge.data.transforms.pixels import upsample
from seqforge.data.transforms.vocab import PAD_ID
from seqforge.errors import DataError
from seqforge.tasks.regress import Regress

SPECS = Path(__file__).resolve().parents[1] / "specs"
runner = CliRunner()


# -------------------------------------------------------------------------- adding problem

def test_adding_marks_one_value_in_each_half_and_sums_them():
    x, y, pos = adding_problem(300, 40, seed=1)  # (n, T, 2), (n, 1), (n, 2)
    assert x.shape == (300, 40, 2) and y.shape == (300, 1)
    assert ((x[..., 0] >= 0) & (x[..., 0] <= 1)).all()
    assert (x[..., 1].sum(1) == 2).all()
    assert (pos[:, 0] < 20).all() and (pos[:, 1] >= 20).all()
    rows = np.arange(300)
    np.testing.assert_array_equal(y[:, 0], x[rows, pos[:, 0], 0] + x[rows, pos[:, 1], 0])
    again, _, _ = adding_problem(300, 40, seed=1)
    np.testing.assert_array_equal(x, again)


def test_adding_constant_baseline_is_the_variance_of_the_sum():
    """The training mean predicts ~1; its MSE is Var(U1 + U2) = 1/6."""
    bundle = Adding(AddingParams(length=30, n_train=4000, n_val=0, n_test=4000)).load()
    task = Regress(None, bundle.info)
    task.fit(bundle.train)
    assert float(task.mean[0]) == pytest.approx(1.0, abs=0.03)
    base = task.baseline(bundle.test)
    assert base["mse"] == pytest.approx(1 / 6, abs=0.01)
    assert base["rmse"] == pytest.approx(math.sqrt(base["mse"]))
    assert set(base) == {"mse", "rmse", "mae"}
    # a model that reads the marks exactly scores 0
    metrics = task.new_metrics(None)
    batch = bundle.collate([bundle.test[i] for i in range(64)])
    metrics.update(batch["y"].clone(), batch)
    assert metrics.compute()["mse"] == 0


def test_adding_splits_are_independent_and_fixed_by_data_seed():
    a = Adding(AddingParams(length=12, n_train=20, n_val=5, n_test=5), seed=0).load()
    b = Adding(AddingParams(length=12, n_train=20, n_val=5, n_test=5), seed=7).load()
    assert torch.equal(a.train.columns["x"], b.train.columns["x"])  # training seed: no effect
    assert not torch.equal(a.val.columns["x"], a.test.columns["x"])
    c = Adding(AddingParams(length=12, n_train=20, n_val=5, n_test=5, data_seed=1)).load()
    assert not torch.equal(a.train.columns["x"], c.train.columns["x"])


def test_adding_reads_inputs_and_refuses_bad_ones():
    src = Adding(AddingParams(length=6, n_train=4, n_val=0, n_test=0))
    info = src.load().info
    items = src.read_inputs(as_table({"values": ["0.5 0.1 0.2 0.25"], "first": [0],
                                      "second": [3], "sum": [0.75]}), info, targets=True)
    want = torch.tensor([[0.5, 1.0], [0.1, 0.0], [0.2, 0.0], [0.25, 1.0]])
    assert torch.equal(items[0]["x"], want) and torch.equal(items[0]["y"], torch.tensor([0.75]))
    bad = [({"values": ["0.1 x"], "first": [0], "second": [1]}, "not a list of numbers"),
           ({"values": ["0.1 0.2"], "first": [0], "second": [2]}, "outside the 2 values"),
           ({"values": ["0.1 0.2"], "first": ["a"], "second": [1]}, "not a step number"),
           ({"values": ["0.1 0.2"], "second": [1]}, "first")]
    for table, words in bad:
        with pytest.raises(DataError, match=words) as exc:
            src.read_inputs(as_table(table), info)
        assert "line" in str(exc.value) or words == "first"
    with pytest.raises(DataError, match="'sum'"):
        src.read_inputs(as_table({"values": ["1 2"], "first": [0], "second": [1]}), info,
                        targets=True)


# ----------------------------------------------------------------------------- copy tasks

@pytest.mark.parametrize("selective", [False, True])
def test_copy_targets_are_the_symbols_in_order_after_the_delimiter(selective):
    pairs = copy_sequences(200, 30, 4, 5, seed=3, selective=selective)
    assert len({p for p, _ in pairs}) == 200  # distinct
    starts = set()
    for text, target in pairs:
        assert len(text) == len(target) == 30
        assert text[25] == DELIMITER and text[26:] == BLANK * 4
        symbols = "".join(c for c in text[:25] if c not in (BLANK, DELIMITER))
        assert target == BLANK * 26 + symbols and len(symbols) == 4
        starts.add(text.index(symbols[0]))
        if not selective:
            assert text[:4] == symbols
    assert (len(starts) > 5) == selective  # selective: the symbols are scattered


def test_copy_dataset_scores_only_the_answer_steps():
    bundle = Copy(CopyParams(length=20, tokens=3, symbols=6, n_train=50, n_val=10,
                             n_test=10)).load()
    item = bundle.train[0]
    x, y = item["x"], item["y"]  # (T,), (T,)
    assert x.shape == y.shape == (20,)
    assert (y[:-3] == PAD_ID).all() and (y[-3:] != PAD_ID).all()
    vocab = bundle.info.vocab
    assert "".join(vocab.decode(x.tolist())) == item["text"]
    recalled = "".join(vocab.decode(y[-3:].tolist()))
    assert recalled == "".join(c for c in item["text"] if c.isalpha())
    splits = [set(bundle.split(n).columns["text"]) for n in ("train", "val", "test")]
    assert not (splits[0] & splits[1] or splits[0] & splits[2] or splits[1] & splits[2])


def test_copy_refuses_what_cannot_be_drawn():
    with pytest.raises(ValueError, match="too short"):
        CopyParams(length=6, tokens=3)
    with pytest.raises(DataError, match="distinct sequences"):
        Copy(CopyParams(length=8, tokens=2, symbols=2, n_train=10, n_val=0, n_test=0)).load()
    src = Copy(CopyParams(length=12, tokens=2, symbols=8, n_train=20, n_val=0, n_test=0))
    info = src.load().info
    with pytest.raises(DataError, match="'z'") as exc:
        src.read_inputs(as_table({"input": ["ab.z.....:.."], "output": ["ab"]}), info)
    assert exc.value.line == 2


# ------------------------------------------------------------------ sequential digits

def test_upsampling_keeps_the_corners_and_the_range():
    img = np.random.default_rng(0).random((3, 8, 8)).astype(np.float32)
    big = upsample(img, 4)  # (3, 32, 32)
    assert big.shape == (3, 32, 32)
    np.testing.assert_allclose(big[:, [0, 0, -1, -1], [0, -1, 0, -1]],
                               img[:, [0, 0, -1, -1], [0, -1, 0, -1]], rtol=1e-6)
    assert big.min() >= img.min() - 1e-6 and big.max() <= img.max() + 1e-6


def test_sequential_digits_lengths_and_a_fixed_permutation():
    plain = SequentialDigits(SequentialDigitsParams()).load()
    assert plain.train[0]["x"].shape == (64, 1) and plain.info.n_features == 1
    scaled = SequentialDigits(SequentialDigitsParams(scale=4, val=0.0, test=0.1)).load()
    assert scaled.train[0]["x"].shape == (1024, 1)
    perm = SequentialDigitsParams(permute=True)
    a, b = (SequentialDigits(perm, seed=s).load() for s in (0, 5))
    xa = a.train.columns["x"][0, :, 0]
    xp = plain.train.columns["x"][0, :, 0]
    assert torch.equal(torch.sort(xa).values, torch.sort(xp).values)  # same pixels …
    assert not torch.equal(xa, xp)  # … in another order
    src = SequentialDigits(perm)
    rows = src.example_inputs(a)
    once, twice = src.read_inputs(rows, a.info), src.read_inputs(rows, b.info)
    assert all(torch.equal(p["x"], q["x"]) for p, q in zip(once, twice))  # one order


# ----------------------------------------------------------------------- shipped specs

def _small(spec: str, tmp_path, *extra: str):
    return load_spec(SPECS / spec, overrides=["train.epochs=1", "train.limit_train_batches=2",
                                              "train.device=cpu", *extra])


@pytest.mark.slow
def test_adding_spec_trains_and_its_run_stands_alone(tmp_path):
    spec = _small("adding_lstm.yaml", tmp_path, "data.length=40", "data.n_train=64",
                  "data.n_val=32", "data.n_test=32")
    run = train(spec, out=tmp_path)
    files = {p.name for p in run.dir.iterdir()}
    assert {"summary.json", "loss.png", "regression.png", "predictions.csv",
            "gradient_flow.json", "gradient_flow.png"} <= files
    summary = json.loads((run.dir / "summary.json").read_text())
    assert summary["baseline"]["name"] == "constant (training mean)"
    assert set(summary["test"]) == {"test_loss", "test_mse", "test_rmse", "test_mae"}
    flow = json.loads((run.dir / "gradient_flow.json").read_text())
    [record] = flow["records"]
    assert record["epoch"] == 1 and len(record["grad_norm"]) == 40
    table = tmp_path / "new.csv"
    table.write_text("values,first,second\n0.5 0.2 0.1 0.9,0,3\n")
    res = runner.invoke(app, ["predict", str(run.dir), "--input", str(table)])
    assert res.exit_code == 0, res.output
    assert "sum" in res.output
    again = load_run(run.dir).evaluate("test")  # the run regenerates its data from the spec
    assert again["model"]["test_mse"] == pytest.approx(summary["test"]["test_mse"], rel=1e-5)
    assert again["baseline"]["mse"] == pytest.approx(summary["baseline"]["mse"])


@pytest.mark.slow
@pytest.mark.parametrize("spec,artifacts", [
    ("copy_gru.yaml", {"summary.json", "loss.png"}),
    ("sequential_digits_lstm.yaml", {"summary.json", "confusion_matrix.png", "predictions.csv"}),
])
def test_spec_trains_a_few_steps(spec, artifacts, tmp_path):
    extra = ["data.n_train=64", "data.n_val=16", "data.n_test=16"] if "copy" in spec else []
    run = train(_small(spec, tmp_path, *extra), out=tmp_path)
    assert artifacts <= {p.name for p in run.dir.iterdir()}
    assert math.isfinite(run.summary["test"]["test_loss"])
    assert run.summary["baseline"]
