r"""Diagonal linear recurrences whose input term may take any sign (or be complex), and
the parameters of the cells built on them (``rg_lru``, ``qrnn``, ``lru``).

The recurrence is the one of :mod:`seqforge.cells.scan`, h_t = a_t ⊙ h_{t−1} + b_t, but
b_t is not positive (RG-LRU's and QRNN's inputs have either sign; LRU's a_t = λ and b_t
are complex), so the log-space scan does not apply. Two implementations, one function:

:func:`~seqforge.cells.scan.linear_scan`
    One fused ``addcmul`` per step, forwards and backwards (real or complex): depth T,
    the least work, the fastest on a CPU.
:func:`parallel_scan`
    Recursive doubling (Hillis & Steele 1986, "Data parallel algorithms", the inclusive
    scan) of the associative operator (a, b) ∘ (a', b') = (a a', a' b + b'), inside
    chunks of ``chunk_size`` steps; a K-step linear scan carries the state between chunks
    (:func:`~seqforge.cells.scan.join_chunks`). Depth log₂ C + T / C, work T log₂ C:
    for accelerators, where one kernel over (B, T, H) costs what one over (B, H) does.
    Linear space throughout: |a| ≤ 1 products only shrink, nothing overflows, and any
    sign (or phase) of b and h0 is fine. Memory: autograd keeps log₂ C copies of (B, T, H),
    so the chunk bounds it too.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import Tensor

from .base import CellParams
from .scan import _h0_2d, chunked, join_chunks, linear_scan

__all__ = ["parallel_scan", "DiagonalScanParams", "diagonal_scan", "scan_method"]


def parallel_scan(a: Tensor, b: Tensor, h0: Tensor, *, chunk_size: int | None = 64) -> Tensor:
    """h_t = a_t ⊙ h_{t-1} + b_t by recursive doubling within chunks (module docstring).

    a, b: (B, T, H), real or complex; h0: (B, H) or (B, 1, H) -> h (B, T, H).
    ``chunk_size`` None or 0: one chunk (the whole sequence, log₂ T levels).
    """
    h0 = _h0_2d(h0, a)
    T = a.shape[1]
    if T == 0:
        return b.new_zeros(b.shape)
    C = T if not chunk_size or chunk_size >= T else chunk_size
    A, Bc = chunked(a, C, 1.0), chunked(b, C, 0.0)  # (B, K, C, H); padding: a = 1, b = 0
    d = 1
    while d < C:
        # step t absorbs step t − d: (A_t, B_t) ← (A_t A_{t−d}, A_t B_{t−d} + B_t); after
        # the level with offset d each step holds the composition of its last 2d steps
        Bc = torch.cat([Bc[:, :, :d], torch.addcmul(Bc[:, :, d:], A[:, :, d:], Bc[:, :, :-d])], 2)
        A = torch.cat([A[:, :, :d], A[:, :, d:] * A[:, :, :-d]], 2)
        d *= 2
    return join_chunks(A, Bc, h0, T)  # A: ∏ a from the chunk start; Bc: h from a zero start


class DiagonalScanParams(CellParams):
    """How the cells on a diagonal linear recurrence run a whole sequence."""

    #: ``linear``: :func:`~seqforge.cells.scan.linear_scan` (one fused step per time step;
    #: the fastest on CPU); ``parallel``: :func:`parallel_scan` (recursive doubling, for
    #: GPUs); ``auto``: ``linear`` on CPU, ``parallel`` elsewhere. Same function.
    scan: Literal["auto", "linear", "parallel"] = "auto"
    #: ``parallel`` scan only: doubling runs inside chunks of this many steps (bounds its
    #: T·log₂ C memory); 0 = one chunk
    chunk_size: int = Field(default=64, ge=0)


def scan_method(params: DiagonalScanParams, x: Tensor) -> str:
    """``linear`` or ``parallel``: what ``params.scan`` means for input ``x``."""
    if params.scan != "auto":
        return params.scan
    return "linear" if x.device.type == "cpu" else "parallel"


def diagonal_scan(a: Tensor, b: Tensor, h0: Tensor, params: DiagonalScanParams) -> Tensor:
    """h_t = a_t ⊙ h_{t-1} + b_t with the scan ``params`` choose. a, b (B, T, H); h0 (B, H)."""
    if scan_method(params, a) == "linear":
        return linear_scan(a, b, h0)
    return parallel_scan(a, b, h0, chunk_size=params.chunk_size or None)
