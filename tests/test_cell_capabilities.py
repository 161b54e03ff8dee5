"""Cell capabilities (``Cell.supports_lengths`` / ``supports_bidirectional`` /
``supports_state_carry``): what a cell declares it cannot do is refused by the spec
validator (naming the key), by ``Recurrent`` (a padded batch: ``model.cell``), and the
contract kit skips the properties that need it. A GRU declaring all three False stands
in for such a cell (every built-in cell has them all).
"""

from __future__ import annotations

import pytest
import torch

import seqforge
from seqforge.cells.gru import GRUCell
from seqforge.errors import SpecError, SpecErrors
from seqforge.plugins import register_plugin, unregister_plugin
from seqforge.recurrent import Recurrent
from seqforge.testing import NotApplicable, run_cell_property, run_topology_property


class _Forwards(GRUCell):
    """A cell that can only run forwards over unpadded data, from a zero state."""

    supports_lengths = supports_bidirectional = supports_state_carry = False

    def forward_sequence(self, x, state, lengths=None):
        assert lengths is None, "lengths were passed to a cell that cannot mask them"
        return super().forward_sequence(x, state)


class _Plugin:
    @seqforge.hookimpl
    def register_cells(self, register):
        register("forwards_only", _Forwards)


@pytest.fixture
def forwards_only():
    plugin = _Plugin()
    register_plugin(plugin, name="seqforge-forwards-only")
    yield "forwards_only"
    unregister_plugin(plugin)


def _lm_spec(cell, **train):
    return {"name": "t", "data": {"dataset": "text", "source": ["t.txt"], "seq_len": 40},
            "model": {"topology": "many_to_many", "cell": cell, "hidden_size": 16},
            "task": "language_model", "train": train}


def test_validator_refuses_what_the_cell_cannot_do(forwards_only):
    with pytest.raises(SpecErrors) as info:
        seqforge.load_spec(_lm_spec(forwards_only, bptt={"truncate": 20}))
    [err] = info.value.errors
    assert err.path == "train.bptt" and "cell 'forwards_only' cannot carry its state" in err.message
    forecast = {"name": "f", "data": {"dataset": "timeseries_csv", "window": 8},
                "model": {"topology": "many_to_one", "cell": forwards_only, "hidden_size": 4,
                          "bidirectional": True}, "task": "forecast"}
    with pytest.raises(SpecErrors) as info:
        seqforge.load_spec(forecast)
    [err] = info.value.errors
    assert err.path == "model.bidirectional" and "cannot run backwards in time" in err.message
    assert seqforge.load_spec(_lm_spec(forwards_only)).model.cell.name == forwards_only


def test_recurrent_refuses_padding_and_direction_the_cell_cannot_do():
    with pytest.raises(ValueError, match="cannot run bidirectionally"):
        Recurrent(_Forwards, 3, 4, bidirectional=True)
    rnn = Recurrent(_Forwards, 3, 4)
    x = torch.randn(2, 5, 3)
    rnn(x, lengths=torch.tensor([5, 5]))  # nothing padded: fine
    with pytest.raises(SpecError, match="cannot mask padded steps") as info:
        rnn(x, lengths=torch.tensor([5, 2]))
    assert info.value.path == "model.cell"


def test_kit_skips_what_the_cell_cannot_do(forwards_only):
    run_cell_property(_Forwards, "fast_path", max_examples=20)  # draws no lengths for it
    for prop in ("padding_invariance", "tbptt"):
        with pytest.raises(NotApplicable, match="is False for cell"):
            run_topology_property("many_to_many", prop, cells=(_Forwards,))
    # neither padded batches nor a bidirectional stack: either would raise
    run_topology_property("many_to_many", "shapes", cells=(_Forwards,), max_examples=20)
