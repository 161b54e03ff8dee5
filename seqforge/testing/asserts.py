"""Comparisons that fail with a message saying *what* differs, where, and by how much."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


@dataclass(frozen=True)
class Tolerance:
    """Closeness for float64 comparisons of two computations of the same function."""

    rtol: float = 1e-7
    atol: float = 1e-9


DEFAULT_TOL = Tolerance()


def assert_close(actual: Tensor, expected: Tensor, what: str,
                 tol: Tolerance = DEFAULT_TOL) -> None:
    """``actual`` ≈ ``expected`` elementwise, else AssertionError naming ``what``."""
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}")
    a = actual.detach().to(torch.float64)
    e = expected.detach().to(torch.float64)
    bad_nan = torch.isnan(a) != torch.isnan(e)
    diff = (a - e).abs().nan_to_num(0.0)
    over = (diff > tol.atol + tol.rtol * e.abs().nan_to_num(0.0)) | bad_nan
    if bool(over.any()):
        idx = tuple(int(i) for i in torch.nonzero(over)[0])
        raise AssertionError(
            f"{what}: {int(over.sum())} of {over.numel()} elements differ; max abs diff "
            f"{float(diff.max()):.3g}; first at index {idx}: {float(a[idx]):.10g} vs "
            f"{float(e[idx]):.10g} (rtol={tol.rtol:g}, atol={tol.atol:g})")


def assert_zero(t: Tensor, what: str, atol: float = 0.0) -> None:
    """Every element of ``t`` is (within ``atol`` of) zero."""
    t = t.detach()
    bad = t.abs() > atol
    if bool(bad.any()):
        idx = tuple(int(i) for i in torch.nonzero(bad)[0])
        raise AssertionError(f"{what}: {int(bad.sum())} of {t.numel()} elements are not zero; "
                             f"first at index {idx}: {float(t[idx]):.3g}")


def assert_finite(t: Tensor, what: str) -> None:
    if not bool(torch.isfinite(t).all()):
        raise AssertionError(f"{what}: {int((~torch.isfinite(t)).sum())} non-finite values")


def assert_shape(t: Any, shape: tuple[int, ...], what: str) -> None:
    if not isinstance(t, Tensor):
        raise AssertionError(f"{what}: expected a tensor of shape {shape}, got {type(t).__name__}")
    if tuple(t.shape) != tuple(shape):
        raise AssertionError(f"{what}: shape {tuple(t.shape)}, expected {tuple(shape)}")


def flatten_tensors(obj: Any) -> list[Tensor]:
    """Every tensor in a nested state (tuples, lists, dicts), in a stable order."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in flatten_tensors(o)]
    if isinstance(obj, dict):
        return [t for k in sorted(obj, key=str) for t in flatten_tensors(obj[k])]
    return []
