"""Resume: an interrupted run continues exactly where it stopped.

On CPU, interrupted-and-resumed must give the *same loss history, bit for bit*, as a run
that never stopped — which only holds if the checkpoint carries model, optimizer,
scheduler, every RNG (torch for dropout, the loader's shuffle generator), epoch and step,
the position inside the epoch, early-stopping state and, for stateful data, the carried
hidden state of truncated BPTT. Each test below breaks if one of those is left out.

Also: resume refuses a spec whose model or data changed (naming the keys) and accepts a
changed number of epochs; a bare ``--resume`` picks the newest run of the spec.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: helpers
from engine_helpers import (csv, plotless, EchoPlugin, SignalAt, echo_spec, forecast_spec, loss_columns,
                            train_interrupted, with_changes, write_series)  # noqa: F401
from seqforge.api import load_spec, train
from seqforge.cli import app
from seqforge.engine.interrupt import Interrupted
from seqforge.engine.rundir import RunDir
from seqforge.errors import RunDirError

pytestmark = pytest.mark.slow


pytestmark = [pytestmark, pytest.mark.usefixtures("plotless")]


@pytest.fixture(scope="module")
def reference(csv, tmp_path_factory):
    """The uninterrupted 3-epoch run every resumed run must reproduce."""
    return train(forecast_spec(csv), out=tmp_path_factory.mktemp("ref"))


@pytest.fixture
def echo_plugin():
    from seqforge.plugins import register_plugin, unregister_plugin

    plugin = EchoPlugin()
    register_plugin(plugin, name="test-echo")
    yield
    unregister_plugin(plugin)


def test_reference_is_shuffled_dropout_and_scheduled(reference):
    """The probe must exercise what resume has to restore, or the tests prove little."""
    s = reference.spec
    assert s.model.dropout > 0 and s.model.num_layers > 1  # torch RNG in play
    assert reference.history[0]["lr"] != reference.history[1]["lr"]  # scheduler state in play
    assert len(reference.history) == 3
    assert all(r["train_loss"] == r["train_loss"] for r in reference.history)


def test_mid_epoch_interruptions_resume_bit_identical(csv, reference, tmp_path):
    """Three interruptions — mid epoch 1, end of epoch 1, mid epoch 3 — change nothing."""
    per_epoch = reference.history[0]["steps"]
    stops = [SignalAt(step=5), SignalAt(epoch=1),
             SignalAt(step=2 * per_epoch + 3, signum=signal.SIGTERM)]
    run, states = train_interrupted(forecast_spec(csv), tmp_path, stops)
    # the interruptions really were where intended: mid-epoch, at a boundary, mid-epoch
    assert states[0]["batch_in_epoch"] > 0 and states[0]["epoch"] == 0
    assert states[1]["batch_in_epoch"] == 0 and states[1]["epoch"] == 1
    assert states[2]["batch_in_epoch"] > 0 and states[2]["epoch"] == 2
    assert loss_columns(run.history) == loss_columns(reference.history)
    assert loss_columns(RunDir(run.dir).read_metrics()) == loss_columns(reference.history)
    for a, b in zip(run.model.state_dict().values(), reference.model.state_dict().values()):
        assert torch.equal(a, b)
    assert run.summary["test"] == reference.summary["test"]


def test_cosine_per_batch_scheduler_and_sgd_momentum_resume(csv, tmp_path):
    """A per-batch scheduler and optimizer momentum buffers survive a mid-epoch stop."""
    spec = forecast_spec(csv, epochs=2, optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.9},
                         scheduler={"name": "cosine"})
    spec["model"]["cell"] = "gru"
    ref = train(spec, out=tmp_path / "ref")
    run, states = train_interrupted(spec, tmp_path / "int", [SignalAt(step=7)])
    assert states[0]["batch_in_epoch"] == 7
    assert loss_columns(run.history) == loss_columns(ref.history)


def test_truncated_bptt_stateful_position_survives(echo_plugin, tmp_path):
    """Stateful data + truncated BPTT: the carried hidden state is part of the checkpoint.

    Interrupting between two batches whose rows continue each other must resume with
    that state, not zeros — otherwise the losses differ from the first resumed batch on.
    """
    spec = echo_spec()
    ref = train(spec, out=tmp_path / "ref")
    run, states = train_interrupted(spec, tmp_path / "int", [SignalAt(step=3 * 5)])
    assert states[0]["batch_in_epoch"] == 5  # 3 chunks of 4 steps per 12-step batch
    ck = torch.load(RunDir(run.dir).checkpoints / "last.pt", weights_only=True)
    assert ck["carry"] is not None  # the state the next batch continues from
    assert loss_columns(run.history) == loss_columns(ref.history)


def test_early_stopping_state_survives(csv, tmp_path):
    """Patience counts epochs across a resume: the resumed run stops at the same epoch."""
    # min_delta larger than any possible gain: only epoch 1 "improves"; patience 2 -> stop at 3
    es = {"monitor": "val_loss", "patience": 2, "min_delta": 100.0}
    spec = forecast_spec(csv, epochs=6, early_stopping=es)
    ref = train(spec, out=tmp_path / "ref")
    assert ref.summary["epochs_run"] == 3 and ref.summary["stopped_early"]
    run, states = train_interrupted(spec, tmp_path / "int", [SignalAt(epoch=2)])
    assert states[0]["bad_epochs"] == 1
    assert run.summary["epochs_run"] == 3 and run.summary["stopped_early"]
    assert loss_columns(run.history) == loss_columns(ref.history)


def test_more_epochs_on_resume_is_accepted_and_continues_exactly(csv, tmp_path):
    """Finish 2 epochs, then ask for 3: equal to a 3-epoch run (no epoch-dependent schedule)."""
    spec3 = forecast_spec(csv, epochs=3, scheduler=None)
    ref = train(spec3, out=tmp_path / "ref")
    first = train(with_changes(spec3, train={"epochs": 2}), out=tmp_path / "two")
    assert len(first.history) == 2
    more = train(spec3, out=tmp_path / "two", resume=first.dir)
    assert more.dir == first.dir
    assert loss_columns(more.history) == loss_columns(ref.history)
    assert RunDir(first.dir).read_spec()["train"]["epochs"] == 3  # the change is recorded


def _interrupted_run(spec, out):
    """The directory of a run stopped by Ctrl-C at step 3."""
    with pytest.raises(Interrupted) as e:
        train(spec, out=out, callbacks=[SignalAt(step=3)])
    return e.value.checkpoint.parent.parent


def test_resume_refuses_changed_model_or_data_and_names_the_keys(csv, tmp_path):
    spec = forecast_spec(csv, epochs=1)
    run_dir = _interrupted_run(spec, tmp_path)
    changed = with_changes(spec, model={"hidden_size": 7}, data={"window": 5})
    with pytest.raises(RunDirError) as e:
        train(changed, out=tmp_path, resume=run_dir)
    listed = str(e.value).split("since the run started: ")[1].split(". ")[0]
    assert listed == "data.window, model.hidden_size"  # exactly the changed keys
    with pytest.raises(RunDirError, match=r"model\.cell"):
        train(with_changes(spec, model={"cell": "gru"}), out=tmp_path, resume=run_dir)
    with pytest.raises(RunDirError, match=r"train\.optimizer\.lr"):
        train(with_changes(spec, train={"optimizer": {"name": "adam", "lr": 0.5}}),
              out=tmp_path, resume=run_dir)
    # the refusal left the run resumable as it was
    done = train(spec, out=tmp_path, resume=run_dir)
    assert len(done.history) == 1


def test_resume_refuses_changed_data_content(tmp_path):
    """Same spec, but the CSV it names was edited: the data fingerprint catches it."""
    csv = write_series(tmp_path / "s.csv", 220)
    spec = forecast_spec(csv, epochs=1)
    run_dir = _interrupted_run(spec, tmp_path / "runs")
    write_series(csv, 220, seed=1)  # same shape, different numbers
    with pytest.raises(RunDirError, match="the data changed"):
        train(spec, out=tmp_path / "runs", resume=run_dir)


def test_resume_errors_are_clear(csv, tmp_path):
    spec = forecast_spec(csv, epochs=1)
    with pytest.raises(RunDirError, match="nothing to resume"):
        train(spec, out=tmp_path, resume=True)
    (tmp_path / "junk").mkdir()
    with pytest.raises(RunDirError, match="not a resumable run directory"):
        train(spec, out=tmp_path, resume=tmp_path / "junk")
    with pytest.raises(RunDirError, match="not a resumable run directory"):
        train(spec, out=tmp_path, resume=tmp_path / "does-not-exist")


def test_cli_bare_resume_continues_the_newest_run(csv, tmp_path):
    """``seqforge run SPEC --resume`` (no RUN_DIR) continues the newest run of SPEC."""
    import yaml

    spec_file = tmp_path / "probe.yaml"
    spec = forecast_spec(csv, epochs=1)
    spec_file.write_text(yaml.safe_dump(spec))
    out = tmp_path / "runs"
    old = train(load_spec(spec_file), out=out)  # an older, finished run
    interrupted = _interrupted_run(load_spec(spec_file), out)
    assert interrupted != old.dir
    runner = CliRunner()
    res = runner.invoke(app, ["run", str(spec_file), "--out", str(out), "--resume", "-q"])
    assert res.exit_code == 0, res.output
    assert len(RunDir(interrupted).read_metrics()) == 1
    assert (interrupted / "summary.json").exists()  # it was this run that finished
    # explicit RUN_DIR, and a RUN_DIR without --resume is refused
    res = runner.invoke(app, ["run", str(spec_file), "--resume", str(old.dir), "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["run", str(spec_file), str(old.dir), "-q"])
    assert res.exit_code == 2 and "only given with --resume" in res.output


def test_checkpoints_last_every_n_steps_best_and_keep(csv, tmp_path, monkeypatch):
    """``last`` each epoch and every N steps, ``best`` on improvement, ``keep: N`` epoch copies."""
    import seqforge.engine.checkpointing as loop

    written = []
    real = loop.save_checkpoint

    def spy(path, payload):
        written.append((path.name, payload["loop"]["step"], payload["loop"]["epoch"]))
        real(path, payload)

    monkeypatch.setattr(loop, "save_checkpoint", spy)
    spec = forecast_spec(csv, epochs=4, checkpoint={"every_n_steps": 8, "keep": 2})
    run = train(spec, out=tmp_path)
    steps = run.history[0]["steps"]  # batches per epoch
    lasts = [(s, e) for name, s, e in written if name == "last.pt"]
    expected = []
    for epoch in range(4):
        expected += [(s, epoch) for s in range(epoch * steps + 1, (epoch + 1) * steps)
                     if s % 8 == 0]
        expected.append(((epoch + 1) * steps, epoch + 1))
    assert lasts == expected
    bests = [e for name, _, e in written if name == "best.pt"]
    assert bests and bests[-1] == run.summary["best_epoch"]
    d = RunDir(run.dir).checkpoints
    assert sorted(p.name for p in d.glob("*.pt")) == ["best.pt", "epoch-0003.pt", "epoch-0004.pt",
                                                       "last.pt"]
    assert not list(d.glob(".*.tmp"))  # no temporary left behind
    best = torch.load(d / "best.pt", weights_only=True)
    assert best["loop"]["epoch"] == run.summary["best_epoch"]


def test_checkpoints_hold_the_plain_model_even_when_compiled(csv, tmp_path):
    """On CUDA the engine may swap in ``torch.compile(model)``, whose state_dict keys carry
    an ``_orig_mod.`` prefix; checkpoints must still load into a plain model."""
    from seqforge.api import build
    from seqforge.api import make_trainer

    spec = load_spec(forecast_spec(csv, epochs=1))
    built = build(spec)
    rd = RunDir.create(tmp_path, spec.name)
    trainer = make_trainer(spec, built, torch.device("cpu"), run_dir=rd)
    trainer.model = torch.compile(trainer.model)  # wrapping only: nothing compiles until called
    assert any(k.startswith("_orig_mod.") for k in trainer.model.state_dict())
    path = trainer.save("last.pt")
    ck = torch.load(path, weights_only=True)
    assert set(ck["model"]) == set(build(spec).model.state_dict())
    trainer.restore(path)  # and back into the compiled wrapper's model


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_interrupt_and_resume_on_cuda(csv, tmp_path):
    """On a GPU: RNG/generator states stay CPU tensors, the carried state moves to the
    device, and the resumed run matches (closely: GPU kernels need not be bit-exact)."""
    spec = forecast_spec(csv, epochs=2, device="cuda", compile="off")
    ref = train(spec, out=tmp_path / "ref")
    run, states = train_interrupted(spec, tmp_path / "int", [SignalAt(step=5)])
    assert states[0]["batch_in_epoch"] == 5
    for a, b in zip(run.history, ref.history):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
