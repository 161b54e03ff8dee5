"""Shared by the scan tests (test_scans.py, test_scan_cells.py): float64 tolerances, the
cells and scans under test, random scan coefficients, weighted gradients, one thread."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from seqforge.cells.min_gru import MinGRUCell
from seqforge.cells.min_lstm import MinLSTMCell
from seqforge.cells.scan import log_g

DT = torch.float64
TOL = dict(rtol=1e-9, atol=1e-11)
CELLS = [MinGRUCell, MinLSTMCell]
SCANS = ["linear", "log"]
lengths_T = st.integers(1, 40)  # T = 300 is a test of its own below
seeds = st.integers(0, 2**31 - 1)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one intra-op thread. Some CPU kernels (logcumsumexp's backward) open
    a parallel region even for a few elements, which costs milliseconds per call when the
    machine is oversubscribed (shared CI runners); the threads are restored afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def coeffs(B, T, H, gen, scale=2.0):
    """log a (≤ 0, a ∈ (0, 1)) and log b (b > 0) from random pre-activations."""
    k = torch.randn(B, T, H, dtype=DT, generator=gen) * scale
    v = torch.randn(B, T, H, dtype=DT, generator=gen) * scale
    return -F.softplus(k), log_g(v) - F.softplus(-k)


def grads(out, inputs, w):
    return torch.autograd.grad((out * w).sum(), inputs, allow_unused=True)
