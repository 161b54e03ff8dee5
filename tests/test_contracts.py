"""The contract kit (``seqforge.testing``) over the whole registry, and the kit itself.

* every registered cell gets one ``CellContract`` class — the same base class a plugin
  author subclasses — so a new cell (``layernorm_lstm`` from the example plugin, ``min_gru``
  …) is covered without touching this file;
* every registered topology × every registered cell gets one ``TopologyContract`` class;
* a few built-in parameter ranges the derived variants cannot know (chunk sizes of the
  scan cells, decoder sizes and teacher forcing of the encoder–decoder);
* padding changes neither outputs nor the *task's loss*, on shipped specs whose data vary
  in length (the kit checks models; losses belong to tasks);
* the kit catches deliberately broken components, naming the violated property — so
  none of its checks passes vacuously;
* the kit's API: reports, skips, unknown names, profiles.
"""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
import torch
from pydantic import ConfigDict

from seqforge.api import build, load_spec
from seqforge.cells.base import step_loop
from seqforge.cells.gru import GRUCell
from seqforge.cells.lstm import LSTMCell
from seqforge.cells.rnn import ElmanRNNCell
from seqforge.plugins import get_registry
from seqforge.testing import (CELL_PROPERTIES, TOPOLOGY_PROPERTIES, CellContract, NotApplicable,
                              TopologyContract, cell_contract_tests, check_cell, check_topology,
                              run_cell_property, run_topology_property, settings)
from seqforge.topologies.many_to_many import ManyToMany, ManyToManyModel
from seqforge.topologies.many_to_one import ManyToOne, ManyToOneModel

# -- the registry matrix -------------------------------------------------------------------------

_REG = get_registry()
CELLS = sorted(_REG.entries["cell"])
TOPOLOGIES = sorted(_REG.entries["topology"])


def test_registry_is_populated():
    """The matrix below is only as good as the registry it is built from."""
    assert {"rnn", "lstm", "gru"} <= set(CELLS)
    assert {"one_to_one", "one_to_many", "many_to_one", "many_to_many",
            "encoder_decoder"} <= set(TOPOLOGIES)
    assert not _REG.failures, _REG.failures


for _cell in CELLS:
    _name = f"TestCell_{_cell}"
    globals()[_name] = type(_name, (CellContract,), {"cell": _cell, "__module__": __name__})

for _topo in TOPOLOGIES:
    for _cell in CELLS:
        _name = f"TestTopology_{_topo}__{_cell}"
        globals()[_name] = type(_name, (TopologyContract,), {
            "topology": _topo, "cells": (_cell,), "matrix": True, "__module__": __name__})


# -- built-in ranges the derived variants do not reach -----------------------------------------

@pytest.mark.parametrize("cell", ["min_gru", "min_lstm"])
@pytest.mark.parametrize("prop", ["fast_path", "gradcheck"])
def test_scan_cells_chunked_log_scan(cell, prop):
    """The log-space scan in chunks of 1–3 steps (and one chunk) equals the step loop."""
    run_cell_property(cell, prop, params={"scan": ["log"], "chunk_size": [0, 1, 2, 3]})


@pytest.mark.parametrize("prop", ["shapes", "batch_independence", "no_target_leak",
                                  "padding_invariance", "fast_path", "gradcheck"])
def test_encoder_decoder_bridges_and_teacher_forcing(prop):
    """Decoder sizes that need a learned bridge, and scheduled sampling in train mode."""
    run_topology_property("encoder_decoder", prop, cells=("gru", "lstm"), params={
        "decoder_layers": [None, 1, 2], "decoder_hidden_size": [None, 1, 3],
        "teacher_forcing": [1.0, 0.5, 0.0]})


# -- losses ignore padding too (shipped specs whose data vary in length) ------------------------

REPO = Path(__file__).resolve().parents[1]
#: spec -> overrides that make it small; each has sequences of varying length
VARIABLE_LENGTH_SPECS = {
    "reversal_seq2seq.yaml": ["data.n=200", "model.hidden_size=8"],
    "docstring_topics.yaml": ["model.hidden_size=8", "model.embedding=4"],
    "ucr/pickupgesture_lstm_fcn.yaml": ["model.hidden_size=4", "model.conv_channels=[4, 4, 4]"],
}


def _pad_more(batch: dict, extra: int) -> dict:
    """The batch as the default collate would pad it next to a row ``extra`` steps longer:
    zeros appended to x (and to a sequence y), lengths stated for every row."""
    out = dict(batch)
    x = batch["x"]
    out["x"] = torch.cat([x, x.new_zeros(x.shape[0], extra, *x.shape[2:])], dim=1)
    out["lengths"] = batch.get("lengths", torch.full((x.shape[0],), x.shape[1]))
    y = batch.get("y")
    if isinstance(y, torch.Tensor) and y.dim() >= 2:
        out["y"] = torch.cat([y, y.new_zeros(y.shape[0], extra, *y.shape[2:])], dim=1)
        out["y_lengths"] = batch.get("y_lengths", torch.full((y.shape[0],), y.shape[1]))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(VARIABLE_LENGTH_SPECS))
def test_padding_changes_neither_outputs_nor_loss(name):
    """Padding a sequence further changes neither its outputs nor the task's loss."""
    path = REPO / "specs" / name
    if not path.exists():
        pytest.skip(f"{path} is gone")
    built = build(load_spec(path, overrides=VARIABLE_LENGTH_SPECS[name]))
    batch = built.bundle.collate([built.bundle.train[i] for i in range(8)])
    assert "lengths" in batch, "these rows do not vary in length: the test would be vacuous"
    padded = _pad_more(batch, extra=3)
    model = built.model.eval()
    with torch.no_grad():
        out, _ = model(batch)
        out2, _ = model(padded)
        loss, loss2 = built.task.loss(out, batch), built.task.loss(out2, padded)
    torch.testing.assert_close(loss2, loss, rtol=1e-5, atol=1e-6)
    if out.dim() == 2:  # one vector per row
        torch.testing.assert_close(out2, out, rtol=1e-5, atol=1e-6)
    else:  # a sequence per row: compare the valid steps
        lens = padded["y_lengths"] if "y_lengths" in padded else padded["lengths"]
        for b, L in enumerate(lens.tolist()):
            torch.testing.assert_close(out2[b, :L], out[b, :L], rtol=1e-5, atol=1e-6)


# -- the kit catches broken components ------------------------------------------------------------

class _PeekingCell(ElmanRNNCell):
    """Its sequence path adds the reversed input: it sees the future, unlike its step."""

    def forward_sequence(self, x, state, lengths=None):
        return super().forward_sequence(x + x.flip(1), state, lengths)


class _IgnoresLengths(GRUCell):
    """Its fused path runs over padding as if it were data."""

    def forward_sequence(self, x, state, lengths=None):
        return super().forward_sequence(x, state, None)


class _MixesBatch(ElmanRNNCell):
    """Each row's step reads the batch mean (a batch-norm-like leak between rows)."""

    def forward(self, x_t, state):
        h, (h2,) = super().forward(x_t, state)
        h = h + h.mean(0, keepdim=True)
        return h, (h,)

    def forward_sequence(self, x, state, lengths=None):
        return step_loop(self, x, state, lengths)


class _DoubledTanhGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return 2 * g * (1 - y * y)  # twice the true derivative


class _WrongGradient(ElmanRNNCell):
    def forward(self, x_t, state):
        (h,) = state
        gi, gh = self._gates(x_t, h)
        h = _DoubledTanhGrad.apply(gi + gh)
        return h, (h,)

    def forward_sequence(self, x, state, lengths=None):
        return step_loop(self, x, state, lengths)


class _LooseParams(ElmanRNNCell):
    class Params(ElmanRNNCell.Params):
        model_config = ConfigDict(extra="allow")


class _DropsForgetBias(LSTMCell):
    def reset_parameters(self, init="default", forget_bias=None):
        super().reset_parameters(init, None)


@pytest.mark.parametrize("cell,prop", [
    (_PeekingCell, "causality"),
    (_PeekingCell, "fast_path"),
    (_IgnoresLengths, "fast_path"),
    (_MixesBatch, "batch_independence"),
    (_WrongGradient, "gradcheck"),
    (_LooseParams, "params"),
    (_DropsForgetBias, "init"),
])
def test_kit_catches_broken_cell(cell, prop):
    with pytest.raises(AssertionError, match=rf"cell '{cell.__name__}' violates '{prop}'"):
        run_cell_property(cell, prop, max_examples=30, shrink=False)


class _NoMaskModel(ManyToOneModel):
    def forward(self, batch, state=None):
        return super().forward({k: v for k, v in batch.items() if k != "lengths"}, state)


class _NoMask(ManyToOne):
    """Pools over padding: its output depends on how much padding follows a sequence."""

    def build(self, info, out_size):
        m = super().build(info, out_size)
        m.__class__ = _NoMaskModel
        return m


class _BatchNormedModel(ManyToOneModel):
    def forward(self, batch, state=None):
        out, state = super().forward(batch, state)
        return out - out.mean(0, keepdim=True), state


class _BatchNormed(ManyToOne):
    def build(self, info, out_size):
        m = super().build(info, out_size)
        m.__class__ = _BatchNormedModel
        return m


class _WrongShapeModel(ManyToOneModel):
    def forward(self, batch, state=None):
        out, state = super().forward(batch, state)
        return out.unsqueeze(1), state  # (B, 1, O) where (B, O) is promised


class _WrongShape(ManyToOne):
    def build(self, info, out_size):
        m = super().build(info, out_size)
        m.__class__ = _WrongShapeModel
        return m


class _PeeksTargetModel(ManyToManyModel):
    def forward(self, batch, state=None):
        out, state = super().forward(batch, state)
        y = batch["y"]  # (B, T, O) float targets
        return out + y[..., :1], state  # the answer leaks into the output


class _PeeksTarget(ManyToMany):
    def build(self, info, out_size):
        m = super().build(info, out_size)
        m.__class__ = _PeeksTargetModel
        return m


class _AlwaysBidirectional(ManyToMany):
    """Says nothing of direction but always reads both ways: not causal."""

    def build(self, info, out_size):
        from seqforge.topologies.base import InputAdapter

        adapter = InputAdapter(info, self.spec.embedding)
        return ManyToManyModel(adapter, self.recurrent(adapter.size, bidirectional=True), out_size)


class _ForgetsStateModel(ManyToManyModel):
    def forward(self, batch, state=None):
        return super().forward(batch, None)  # drops the carried state: TBPTT chunks restart


class _ForgetsState(ManyToMany):
    def build(self, info, out_size):
        m = super().build(info, out_size)
        m.__class__ = _ForgetsStateModel
        return m


@pytest.mark.parametrize("topology,prop,kw", [
    (_NoMask, "padding_invariance", {}),
    (_BatchNormed, "batch_independence", {}),
    (_WrongShape, "shapes", {}),
    (_PeeksTarget, "no_target_leak", {"targets": ("float",)}),
    (_AlwaysBidirectional, "causality", {}),
    (_ForgetsState, "tbptt", {}),
    (ManyToMany, "fast_path", {"cells": (_IgnoresLengths,)}),
    (ManyToOne, "gradcheck", {"cells": (_WrongGradient,)}),
])
def test_kit_catches_broken_topology(topology, prop, kw):
    with pytest.raises(AssertionError, match=rf"topology '\w+' with cell \w+ violates '{prop}'"):
        run_topology_property(topology, prop, max_examples=30, shrink=False, **kw)


# -- the kit's API ----------------------------------------------------------------------------------

def test_check_cell_reports_every_failure_at_once():
    with pytest.raises(AssertionError) as info:
        check_cell(_PeekingCell, only=["causality", "fast_path", "params"], max_examples=20,
                   shrink=False)
    msg = str(info.value)
    assert msg.startswith("2 of 3 contract properties failed for cell '_PeekingCell'")
    assert "violates 'causality'" in msg and "violates 'fast_path'" in msg
    assert "Draw" in msg or "Falsifying" in msg  # the counterexample travels with it


def test_check_reports_passes_and_skips():
    report = check_topology("one_to_one", cells="gru", only=["shapes", "causality"],
                            skip=["shapes"], max_examples=2)
    assert report["shapes"] == "skipped: excluded by the caller"
    assert report["causality"].startswith("skipped:") and "produces 'vector'" in report["causality"]
    assert check_cell("gru", only=["state"], max_examples=2) == {"state": "passed"}


def test_unknown_names_are_clear():
    with pytest.raises(ValueError, match="did you mean 'lstm'"):
        check_cell("lstn")
    with pytest.raises(ValueError, match="unknown property nope"):
        check_cell("gru", only=["nope"])
    with pytest.raises(ValueError, match="has no field"):
        run_cell_property("gru", "state", params={"nonlinearity": ["tanh"]})
    with pytest.raises(TypeError, match="Cell subclass"):
        check_cell(ManyToOne)


def test_not_applicable_is_a_skip():
    with pytest.raises(NotApplicable):
        run_topology_property("many_to_one", "tbptt")
    import unittest
    assert issubclass(NotApplicable, unittest.SkipTest)  # pytest reports it as skipped


def test_contract_classes_have_one_test_per_property():
    assert {f"test_{p}" for p in CELL_PROPERTIES} <= set(dir(CellContract))
    assert {f"test_{p}" for p in TOPOLOGY_PROPERTIES} <= set(dir(TopologyContract))
    with pytest.raises(TypeError, match="set `cell = YourCell`"):
        CellContract().test_state()

    class Skipping(CellContract):
        cell = "gru"
        skip = ("gradcheck",)

    with pytest.raises(NotApplicable):
        Skipping().test_gradcheck()


def test_parametrize_helper_names_tests_by_property():
    params = cell_contract_tests("gru", skip=("gradcheck",), max_examples=1)
    assert [p.id for p in params] == [n for n in CELL_PROPERTIES if n != "gradcheck"]
    params[0].values[0]()  # runs the first property


def test_params_strategy_derives_variants():
    """Literal and bool fields are drawn; the drawn params are validated instances."""
    from hypothesis import find

    from seqforge.testing.strategies import params_strategy

    s = params_strategy(ElmanRNNCell.Params)
    relu = find(s, lambda p: p.nonlinearity == "relu" and not p.bias)
    assert isinstance(relu, ElmanRNNCell.Params)
    only = params_strategy(ElmanRNNCell.Params, [{"nonlinearity": "relu"}])
    assert find(only, lambda p: True).nonlinearity == "relu"
    with pytest.raises(pydantic.ValidationError):
        find(params_strategy(ElmanRNNCell.Params, {"nonlinearity": ["sigmoid"]}), lambda p: True)


def test_profiles(monkeypatch):
    monkeypatch.setattr(settings, "_active", None)
    monkeypatch.setenv(settings.ENV_VAR, "thorough")
    assert settings.current().name == "thorough"
    thorough = settings.PROFILES["thorough"]
    assert settings.current().examples(expensive=True) == thorough.gradcheck_examples
    monkeypatch.setenv(settings.ENV_VAR, "nope")
    with pytest.raises(ValueError, match="choose one of ci, dev, thorough"):
        settings.current()
    monkeypatch.delenv(settings.ENV_VAR)
    assert settings.current().name == "ci"
    for p in settings.PROFILES.values():
        assert p.examples(matrix=True) <= p.examples() and p.examples(True, True) >= 1


def test_kit_leaves_global_state_alone():
    """Threads, default dtype and the global RNG are restored after a check."""
    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    run_topology_property("many_to_one", "shapes", max_examples=2)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads and torch.get_default_dtype() == dtype

