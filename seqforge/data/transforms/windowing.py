"""Sliding windows over a series, as views (no copy until a caller asks for one)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def window_spans(values: np.ndarray, length: int) -> np.ndarray:
    """Every run of ``length`` consecutive rows of ``values`` (N, C): (N-length+1, length, C).

    ``spans[i] == values[i:i+length]``. A read-only view: index it, then copy
    (``np.ascontiguousarray``) what becomes a tensor.
    """
    return sliding_window_view(values, length, axis=0).transpose(0, 2, 1)


def windows_at(values: np.ndarray, length: int, starts: np.ndarray, *,
               center: bool = False) -> np.ndarray:
    """Windows of ``length`` rows starting at ``starts`` (M,): (M, length, C) float32,
    contiguous; each minus its own mean when ``center``."""
    x = window_spans(values, length)[starts].astype(np.float32)  # (M, length, C)
    if center:
        x = x - x.mean(axis=1, keepdims=True)
    return np.ascontiguousarray(x)


__all__ = ["window_spans", "windows_at"]
