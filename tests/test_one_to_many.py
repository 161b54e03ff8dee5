"""One-to-many generation: the waveforms and number_spelling datasets, the
generate_sequence task and its baselines, the one_to_many topology's output length, and
small end-to-end runs that must beat their baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from seqforge.api import build, load_spec, train
from seqforge.cli import app
from seqforge.data.sources.number_spelling import digits_onehot
from seqforge.data.generators.synthetic import spell_number, waveform
from seqforge.data.transforms.vocab import EOS_ID, PAD_ID
from seqforge.data.sources.waveforms import sine_at
from seqforge.errors import DataError, SpecError
from seqforge.tasks.generate_sequence import token_scores, value_errors

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "waveform_one_to_many.yaml"
runner = CliRunner()


def _wave_spec(**data) -> dict:
    return {
        "name": "wave_test", "seed": 0,
        "data": {"dataset": "waveforms", "n_train": 64, "n_val": 16, "n_test": 16, **data},
        "model": {"topology": "one_to_many", "cell": "lstm", "hidden_size": 8},
        "task": "generate_sequence",
        "train": {"epochs": 1, "batch_size": 16},
    }


def _spell_spec(**data) -> dict:
    return {
        "name": "spell_test", "seed": 0,
        "data": {"dataset": "number_spelling", **data},
        "model": {"topology": "one_to_many", "cell": "lstm", "hidden_size": 8},
        "task": "generate_sequence",
        "train": {"epochs": 1, "batch_size": 16},
    }


# -- waveforms -----------------------------------------------------------------------------

def test_waveform_items_are_condition_vector_and_curve():
    b = build(load_spec(_wave_spec())).bundle
    item = b.train[0]
    assert item["x"].shape == (5,) and item["y"].shape == (50, 1)
    kind, freq = item["kind"], item["freq"]
    assert item["x"][:4].argmax().item() == ["sine", "square", "sawtooth", "triangle"].index(kind)
    np.testing.assert_allclose(item["y"][:, 0].numpy(), waveform(kind, freq, 50), atol=1e-4)
    # independent draws per split: no test frequency is a training one
    assert not set(b.test.columns["freq"]) & set(b.train.columns["freq"])
    assert b.info.input == "vector" and b.info.n_targets == 1


def test_sine_baseline_is_exact_on_sines_and_wrong_elsewhere():
    built = build(load_spec(_wave_spec(classes=["sine"])))
    assert built.task.baseline(built.bundle.test)["rmse"] < 1e-5
    built = build(load_spec(_wave_spec(classes=["sawtooth"])))
    assert built.task.baseline(built.bundle.test)["rmse"] > 0.5
    np.testing.assert_allclose(sine_at(np.array([0.25]), 4)[0, :, 0], [0, 1, 0, -1], atol=1e-6)


def test_waveform_read_inputs(tmp_path):
    built = build(load_spec(_wave_spec()))
    src = built.source
    good = tmp_path / "asks.csv"
    good.write_text("kind,freq\nsine,0.05\nsquare,0.02\n")
    items = src.read_inputs(good, built.info)
    assert [it["kind"] for it in items] == ["sine", "square"]
    assert items[0]["x"][-1].item() == pytest.approx((0.05 - 0.02) / 0.08)
    for text, expect in [("kind,freq\nsine,fast\n", "line 2.*not a number"),
                         ("kind,freq\nsine,0.05\nsquar,0.05\n", "line 3.*did you mean 'square'"),
                         ("kind,freq\nsine,0.5\n", "line 2.*0.02..0.1"),
                         ("kind,frequency\nsine,0.05\n", "no column 'freq'")]:
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(DataError, match=expect):
            src.read_inputs(bad, built.info)


def test_unknown_waveform_class_is_a_data_error():
    with pytest.raises(DataError, match="did you mean 'square'"):
        build(load_spec(_wave_spec(classes=["sine", "squar"])))


# -- the one_to_many output length ---------------------------------------------------------

def test_output_length_follows_target_then_steps_then_data():
    model = build(load_spec(_wave_spec(length=30))).model.eval()
    x = torch.zeros(2, 5)
    assert model({"x": x})[0].shape == (2, 30, 1)  # the dataset's length
    assert model({"x": x, "steps": 7})[0].shape == (2, 7, 1)
    assert model({"x": x, "y": torch.zeros(2, 11, 1)})[0].shape == (2, 11, 1)
    spec = _wave_spec(length=30)
    spec["model"]["steps"] = 12
    assert build(load_spec(spec)).model.eval()({"x": x})[0].shape == (2, 12, 1)


# -- number spelling -----------------------------------------------------------------------

def test_spelling_items_and_disjoint_splits():
    b = build(load_spec(_spell_spec())).bundle
    vocab = b.info.target_vocab
    values = {k: set(b.split(k).columns["value"]) for k in ("train", "val", "test")}
    assert sum(len(v) for v in values.values()) == 1000
    assert not (values["train"] & values["test"]) and not (values["train"] & values["val"])
    item = b.train[0]
    v = item["value"]
    assert item["x"].shape == (30,)
    np.testing.assert_array_equal(item["x"].numpy(), digits_onehot(v, 3))
    ids = item["y"].tolist()
    assert ids[-1] == EOS_ID and " ".join(vocab.decode(ids)) == spell_number(v)
    assert b.info.target_length == 5  # "seven hundred seventy seven <eos>"


def test_digits_onehot():
    x = digits_onehot(42, 3).reshape(3, 10)
    assert x.sum() == 3 and x[0, 0] == x[1, 4] == x[2, 2] == 1


def test_spelling_read_inputs(tmp_path):
    built = build(load_spec(_spell_spec()))
    src = built.source
    f = tmp_path / "n.csv"
    f.write_text("value\n7\n512\n")
    assert [it["value"] for it in src.read_inputs(f, built.info)] == [7, 512]
    for text, expect in [("value\n1000\n", "outside 0..999"),
                         ("value\nten\n", "not a whole number"),
                         ("number\n1\n", "no column 'value'")]:
        f.write_text(text)
        with pytest.raises(DataError, match=expect):
            src.read_inputs(f, built.info)


# -- the task ------------------------------------------------------------------------------

def test_token_scores_by_hand():
    true = np.array([[5, 6, EOS_ID, PAD_ID], [7, EOS_ID, PAD_ID, PAD_ID]])
    pred = np.array([[5, 6, EOS_ID, 9], [7, 8, PAD_ID, 4]])  # row 1 misses its <eos>
    s = token_scores(pred, true)
    assert s["token_accuracy"] == pytest.approx(4 / 5)
    assert s["exact_match"] == pytest.approx(1 / 2)


def test_value_errors_by_hand():
    pred = np.array([[[1.0], [2.0]], [[0.0], [9.0]]])
    true = np.array([[[0.0], [2.0]], [[0.0], [0.0]]])
    mask = np.array([[True, True], [True, False]])  # the 9 is padding
    assert value_errors(pred, true, mask) == pytest.approx({"rmse": np.sqrt(1 / 3), "mae": 1 / 3})


def test_token_loss_ignores_padding_and_value_loss_masks_it():
    task = build(load_spec(_spell_spec())).task
    V = task.output_size()
    y = torch.tensor([[4, EOS_ID, PAD_ID]])
    out = torch.zeros(1, 3, V)
    out[0, 2, 9] = 100.0  # garbage at the padded step must not count
    assert task.loss(out, {"y": y}).item() == pytest.approx(np.log(V), rel=1e-5)
    wtask = build(load_spec(_wave_spec())).task
    y = torch.zeros(1, 3, 1)
    out = torch.tensor([[[1.0], [1.0], [50.0]]])
    batch = {"y": y, "y_lengths": torch.tensor([2])}
    assert wtask.loss(out, batch).item() == pytest.approx(1.0)


def test_token_baseline_is_the_most_frequent_token_per_position():
    built = build(load_spec(_spell_spec()))
    task, b = built.task, built.bundle
    base = task.baseline_predictions(b.test)
    train_y = [b.train[i]["y"].tolist() for i in range(len(b.train))]
    first = np.bincount([y[0] for y in train_y]).argmax()
    assert (base[:, 0] == first).all()
    scores = task.baseline(b.test)
    assert scores["exact_match"] < 0.05 and 0 < scores["token_accuracy"] < 0.6


def test_generic_value_baseline_is_the_per_step_training_mean():
    built = build(load_spec(_wave_spec()))
    task = built.task
    task.gen.baseline_name = None  # a dataset that offers no baseline of its own
    task.fit(built.bundle.train)
    assert task.baseline_name() == "per-step mean of training targets"
    pred = task.baseline_predictions(built.bundle.test)
    ytr = built.bundle.train.columns["y"].numpy()
    assert pred.shape == (16, 50, 1)
    np.testing.assert_allclose(pred[3], ytr.mean(0), rtol=1e-5, atol=1e-6)


def test_generate_sequence_refuses_vector_models_and_targetless_data():
    from seqforge.tasks.generate_sequence import GenerateSequence

    spec = _wave_spec()
    spec["model"]["topology"] = "one_to_one"
    with pytest.raises(SpecError, match="task 'generate_sequence' needs a sequence"):
        load_spec(spec)
    bundle = build(load_spec(_wave_spec())).bundle
    bundle.info.n_targets = None
    with pytest.raises(SpecError, match="sequence targets"):
        GenerateSequence(None, bundle.info)


# -- end to end ----------------------------------------------------------------------------

@pytest.mark.slow
def test_waveform_model_beats_the_sine_baseline(tmp_path):
    spec = _wave_spec(n_train=400, n_val=50, n_test=100, length=40)
    spec["model"].update(hidden_size=32)
    spec["train"] = {"epochs": 15, "batch_size": 32, "optimizer": {"name": "adam", "lr": 1e-2},
                     "clip_grad_norm": 1.0}
    run = train(load_spec(spec), out=tmp_path, quiet=True)
    test, base = run.summary["test"], run.summary["baseline"]
    assert base["name"] == "sine at the requested frequency"
    assert test["test_rmse"] < 0.8 * base["rmse"], (test, base)
    assert run.summary["beats_baseline"]["rmse"]
    assert (run.dir / "generated.png").stat().st_size > 10_000
    assert (run.dir / "generations.csv").exists()
    asks = tmp_path / "asks.csv"
    asks.write_text("kind,freq\nsine,0.05\nsawtooth,0.025\n")
    out = tmp_path / "drawn.csv"
    res = runner.invoke(app, ["predict", str(run.dir), "--input", str(asks), "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith("kind,freq,y_0,y_1") and lines[0].endswith("y_39")
    assert len(lines) == 3 and lines[1].startswith("sine,0.05,")


@pytest.mark.slow
def test_spelling_model_spells_unseen_numbers(tmp_path):
    spec = _spell_spec()
    spec["model"].update(hidden_size=48)
    spec["train"] = {"epochs": 12, "batch_size": 32, "optimizer": {"name": "adam", "lr": 1e-2}}
    run = train(load_spec(spec), out=tmp_path, quiet=True)
    test, base = run.summary["test"], run.summary["baseline"]
    assert test["test_exact_match"] > 0.8 > base["exact_match"], (test, base)
    text = (run.dir / "spellings.txt").read_text()
    assert "exact:" in text
    nums = tmp_path / "n.csv"
    nums.write_text("value\n342\n")
    out = tmp_path / "said.csv"
    res = runner.invoke(app, ["predict", str(run.dir), "--input", str(nums), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text().splitlines()[0] == "value,prediction"
