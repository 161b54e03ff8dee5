"""Properties of the training engine, through its public entry point (``api.train``).

* truncated BPTT: ``_chunks`` partitions a batch in time (lengths clamped per chunk); a
  truncation at least as long as the batch is exactly full BPTT (same history, same
  weights); a shorter one takes one optimizer step per chunk and is not;
* clipping: after ``clip_grad_norm`` the gradient the optimizer applies has total norm
  ≤ max_norm; after ``clip_grad_value`` every element is within ±value; both together
  hold both bounds — checked on the gradients the optimizer actually stepped with;
* determinism: two CPU trainings with one seed give identical loss histories and weights,
  another seed a different one.

The workload is a test-only plugin: ``probe_drift`` (random sequences of varying length,
target = running sum of the first feature, so the model needs its state) and
``probe_mse`` (MSE over valid steps of an aligned output).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqforge.api import load_spec, train
from seqforge.data.base import (DataBundle, DataInfo, DataParams, DatasetSource, TensorItems,
                                fingerprint)
from seqforge.engine.callbacks import Callback
from seqforge.engine.tbptt import chunks as _chunks
from seqforge.hookspecs import hookimpl
from seqforge.plugins import register_plugin, unregister_plugin
from seqforge.tasks.base import Task

# -- the workload ----------------------------------------------------------------------------------


class DriftParams(DataParams):
    examples: int = 40
    steps: int = 8  # longest sequence
    features: int = 2
    varying: bool = True  # lengths 2..steps, else all `steps`


class Drift(DatasetSource):
    """x: Gaussian steps; y: 0.3 × running sum of feature 0 (needs memory)."""

    Params = DriftParams
    provides = "sequence"

    def load(self) -> DataBundle:
        p = self.params
        g = torch.Generator().manual_seed(self.seed)
        if p.varying:
            lengths = torch.randint(2, p.steps + 1, (p.examples,), generator=g).tolist()
        else:
            lengths = [p.steps] * p.examples
        xs = [torch.randn(L, p.features, generator=g) for L in lengths]  # (L, F) each
        ys = [0.3 * x[:, :1].cumsum(0) for x in xs]  # (L, 1) each
        cut = p.examples // 4
        info = DataInfo(input="sequence", n_features=p.features, n_targets=1)
        return DataBundle(TensorItems(x=xs[cut:], y=ys[cut:]), TensorItems(x=xs[:cut], y=ys[:cut]),
                          None, info, source="probe_drift", fingerprint=fingerprint(*xs))


class StepMSE(Task):
    """MSE over the valid steps of an aligned output."""

    outputs = ("aligned_sequence",)

    def output_size(self) -> int:
        return 1

    def loss(self, out, batch):
        y = batch["y"]  # (B, T, 1)
        T = y.shape[1]
        lengths = batch.get("lengths")
        if lengths is None:
            mask = torch.ones(y.shape[:2], dtype=out.dtype)
        else:
            mask = (torch.arange(T)[None] < lengths[:, None]).to(out.dtype)  # (B, T)
        se = ((out - y) ** 2).squeeze(-1) * mask  # (B, T)
        return se.sum() / mask.sum().clamp(min=1)


class ProbePlugin:
    @hookimpl
    def register_datasets(self, register):
        register("probe_drift", Drift)

    @hookimpl
    def register_tasks(self, register):
        register("probe_mse", StepMSE)


@pytest.fixture(scope="module", autouse=True)
def probe_plugin():
    plugin = ProbePlugin()
    register_plugin(plugin, name="engine_probe")
    yield
    unregister_plugin(plugin)


def spec(seed: int = 0, data: dict | None = None, model: dict | None = None, **train_keys) -> Any:
    s = {
        "name": "engine_probe",
        "seed": seed,
        "data": {"dataset": "probe_drift", **(data or {})},
        "model": {"topology": "many_to_many", "cell": "gru", "hidden_size": 6,
                  **(model or {})},
        "task": "probe_mse",
        "train": {"epochs": 2, "batch_size": 8, "threads": 1,
                  "optimizer": {"name": "adam", "lr": 0.03}, **train_keys},
    }
    return load_spec(s)


def history(run) -> list[dict[str, Any]]:
    """The loss history without wall time; floats compared exactly."""
    return [{k: v for k, v in row.items() if k != "time_s"} for row in run.history]


def weights(run) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in run.model.state_dict().items()}


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class GradProbe(Callback):
    """After every batch: the total norm and the largest element of the gradients the
    optimizer just applied (the engine zeroes them only before the next backward, so at
    ``on_batch_end`` they are the clipped ones that were used — with truncated BPTT, those
    of the batch's last chunk)."""

    def __init__(self):
        self.norms: list[float] = []
        self.max_abs: list[float] = []

    def on_batch_end(self, trainer, step, loss) -> None:
        grads = [p.grad for p in trainer.model.parameters() if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.stack(
            [torch.linalg.vector_norm(g) for g in grads]))))
        self.max_abs.append(max(float(g.abs().max()) for g in grads))


# -- truncated BPTT ------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(B=st.integers(1, 4), T=st.integers(1, 9), k=st.integers(1, 10), data=st.data())
def test_chunks_partition_the_batch(B, T, k, data):
    lengths = torch.tensor(data.draw(st.lists(st.integers(0, T), min_size=B, max_size=B)))
    batch = {"x": torch.randn(B, T, 2), "y": torch.randn(B, T, 1), "lengths": lengths,
             "y_lengths": lengths.clone(), "tag": "kept"}
    chunks = list(_chunks(batch, k))
    assert len(chunks) == math.ceil(T / k)
    for key in ("x", "y"):
        assert torch.equal(torch.cat([c[key] for c in chunks], dim=1), batch[key])
    start = 0
    for c in chunks:
        steps = c["x"].shape[1]
        assert 1 <= steps <= k
        expected = (lengths - start).clamp(0, steps)
        assert torch.equal(c["lengths"], expected) and torch.equal(c["y_lengths"], expected)
        assert c["tag"] == "kept"
        start += steps
    # every valid step lands in exactly one chunk
    assert torch.equal(sum(c["lengths"] for c in chunks), lengths)


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("truncate", [8, 9, 64])
def test_tbptt_with_one_chunk_is_full_bptt(cell, truncate):
    """A truncation no shorter than the longest sequence (8) changes nothing at all."""
    full = train(spec(model={"cell": cell}), out=None)
    one_chunk = train(spec(model={"cell": cell}, bptt={"truncate": truncate}), out=None)
    assert history(one_chunk) == history(full)
    assert one_chunk.summary["steps"] == full.summary["steps"]
    assert same_weights(weights(one_chunk), weights(full))


@pytest.mark.slow
def test_tbptt_steps_once_per_chunk_and_truncates():
    data = {"varying": False, "steps": 8, "examples": 40}  # 30 train rows, batches of 8
    full = train(spec(data=data), out=None)
    tbptt = train(spec(data=data, bptt={"truncate": 3}), out=None)
    batches = math.ceil(30 / 8)
    assert full.summary["steps"] == 2 * batches
    assert tbptt.summary["steps"] == 2 * batches * math.ceil(8 / 3)  # chunks 3, 3, 2
    # truncation cuts gradient paths (and steps more often): a different training
    assert history(tbptt) != history(full)
    assert not same_weights(weights(tbptt), weights(full))


# -- clipping --------------------------------------------------------------------------------------


@pytest.mark.slow
@settings(max_examples=6, deadline=None)
@given(cell=st.sampled_from(["rnn", "lstm", "gru"]),
       max_norm=st.sampled_from([1e-3, 1e-2, 0.1]),
       bptt=st.sampled_from(["full", {"truncate": 4}]), seed=st.integers(0, 3))
def test_clip_grad_norm_bounds_the_applied_gradient(cell, max_norm, bptt, seed):
    probe = GradProbe()
    run = train(spec(seed, model={"cell": cell}, clip_grad_norm=max_norm, bptt=bptt),
                out=None, callbacks=[probe])
    assert probe.norms, "no optimizer step was observed"
    assert max(probe.norms) <= max_norm + 1e-6, (max(probe.norms), max_norm)
    # the pre-clip norm (what the history logs) exceeded the bound: clipping was active
    assert max(r["grad_norm_max"] for r in run.history) > max_norm


@pytest.mark.slow
@settings(max_examples=6, deadline=None)
@given(cell=st.sampled_from(["rnn", "lstm", "gru"]), value=st.sampled_from([1e-4, 1e-3, 1e-2]),
       max_norm=st.sampled_from([None, 1e-3]), seed=st.integers(0, 3))
def test_clip_grad_value_bounds_every_element(cell, value, max_norm, seed):
    probe = GradProbe()
    keys: dict[str, Any] = {"clip_grad_value": value}
    if max_norm is not None:
        keys["clip_grad_norm"] = max_norm
    train(spec(seed, model={"cell": cell}, **keys), out=None, callbacks=[probe])
    bound = float(torch.tensor(value, dtype=torch.float32))  # the clamp's float32 bound
    assert max(probe.max_abs) <= bound  # value clipping is exact (a clamp)
    if max_norm is not None:  # norm clipping after value clipping only scales down
        assert max(probe.norms) <= max_norm + 1e-6


@pytest.mark.slow
def test_unclipped_gradients_exceed_the_bounds_used_above():
    """Without clipping the same trainings step with larger gradients — the bounds above
    are not met by accident."""
    probe = GradProbe()
    train(spec(0, model={"cell": "gru"}), out=None, callbacks=[probe])
    assert max(probe.norms) > 0.1 and max(probe.max_abs) > 1e-2


# -- determinism ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("bptt", ["full", {"truncate": 3}])
def test_same_seed_same_history(bptt):
    """Shuffling, dropout between layers and weight init all follow the spec's seed."""
    model = {"cell": "lstm", "num_layers": 2, "dropout": 0.3}
    a = train(spec(5, model=model, bptt=bptt), out=None)
    b = train(spec(5, model=model, bptt=bptt), out=None)
    assert history(a) == history(b)
    assert same_weights(weights(a), weights(b))
    c = train(spec(6, model=model, bptt=bptt), out=None)
    assert history(c) != history(a)
