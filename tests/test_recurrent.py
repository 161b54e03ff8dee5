"""The recurrent stack: one fused multi-layer kernel call equals running layer by layer."""

from __future__ import annotations

import pytest
import torch

from seqforge.cells.gru import GRUCell
from seqforge.cells.lstm import LSTMCell
from seqforge.cells.rnn import ElmanRNNCell
from seqforge.recurrent import Recurrent


@pytest.mark.parametrize("cell", [ElmanRNNCell, LSTMCell, GRUCell])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (3, False), (2, True)])
def test_fused_stack_equals_layer_by_layer(cell, layers, bidirectional):
    torch.manual_seed(0)
    rnn = Recurrent(cell, 5, 7, layers, bidirectional=bidirectional).double()
    x = torch.randn(4, 9, 5, dtype=torch.float64, requires_grad=True)
    state = [tuple(torch.randn(4, 7, dtype=torch.float64) for _ in range(rnn.num_states))
             for _ in rnn.cells]
    results = []
    for fuse in (True, False):
        rnn.fuse_layers = fuse
        rnn.zero_grad()
        x.grad = None
        y, s = rnn(x, state)
        (y.sum() + sum(t.sum() for st in s for t in st)).backward()
        results.append((y.detach(), [t.detach() for st in s for t in st], x.grad.clone(),
                        [p.grad.clone() for p in rnn.parameters()]))
    (y1, s1, gx1, gp1), (y2, s2, gx2, gp2) = results
    torch.testing.assert_close(y1, y2)
    for a, b in zip(s1 + [gx1] + gp1, s2 + [gx2] + gp2):
        torch.testing.assert_close(a, b)


def test_fused_stack_applies_dropout_only_in_training():
    torch.manual_seed(0)
    rnn = Recurrent(LSTMCell, 3, 6, 3, dropout=0.5)
    x = torch.randn(2, 5, 3)
    rnn.eval()
    y_eval, _ = rnn(x)
    rnn.fuse_layers = False
    y_layered, _ = rnn(x)
    torch.testing.assert_close(y_eval, y_layered)  # no dropout in eval, either path
    rnn.fuse_layers = True
    rnn.train()
    torch.manual_seed(1)
    y_train, _ = rnn(x)
    assert not torch.allclose(y_train, y_eval)


class _ScaledGRU(GRUCell):
    """A GRU subclass with a sequence path of its own (outputs halved)."""

    def forward_sequence(self, x, state, lengths=None):
        y, s = super().forward_sequence(x, state, lengths)
        return 0.5 * y, s


def test_a_subclass_with_its_own_sequence_path_is_never_replaced_by_the_stack_kernel():
    """The one-call stack kernel runs torch's GRU: for a subclass that rewrote
    forward_sequence it would silently compute another function (it once did, and the
    contract kit's gradcheck mutant went uncaught whenever no row was padded)."""
    torch.manual_seed(0)
    x = torch.randn(3, 6, 4)
    plain, scaled = (Recurrent(c, 4, 5, 1) for c in (GRUCell, _ScaledGRU))
    scaled.load_state_dict(plain.state_dict())
    torch.testing.assert_close(scaled(x)[0], 0.5 * plain(x)[0])
