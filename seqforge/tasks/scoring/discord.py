"""Model-free detectors for the ``anomaly`` task: nearest-neighbour discords and the UCR
anomaly-archive rule.

:func:`nn_distances` — a subsequence's z-normalised Euclidean distance to its nearest
neighbour among the *normal training* subsequences (a matrix-profile AB-join against the
normal prefix): a window unlike anything seen in normal data is a discord. Computed with
one matrix product of sliding windows (corr = QTᵀ / m), so ~10⁷ window pairs take about a
second; pure numpy.

:func:`ucr_hit` — the UCR time-series anomaly archive's score (Wu & Keogh 2021, "Current
time series anomaly detection benchmarks are flawed …"; the KDD Cup 2021 rule): the one
top-scored location is correct if it lies inside the labelled region widened by a slack
of ``max(100, region length)`` points on each side (the tolerance of Rewicki et al. 2023,
and of dtaianomaly's ``UCRScore``).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .anomaly import segments


def _znorm_windows(x: np.ndarray, W: int) -> np.ndarray:
    w = sliding_window_view(np.asarray(x, dtype=np.float64), W)  # (n-W+1, W)
    mu = w.mean(1, keepdims=True)
    sd = w.std(1, keepdims=True)
    return (w - mu) / np.where(sd > 1e-8, sd, 1.0)


def nn_distances(x: np.ndarray, W: int, ref: tuple[int, int], starts: np.ndarray,
                 block: int = 2048) -> np.ndarray:
    """(M,) z-normalised distance of the window at each of ``starts`` to its nearest
    window lying wholly inside ``ref`` = [lo, hi) (windows overlapping the query's own
    span are excluded, so a window in the reference does not match itself)."""
    z = _znorm_windows(x, W)  # (n-W+1, W)
    lo, hi = ref
    ref_starts = np.arange(lo, hi - W + 1)
    R = z[ref_starts]  # (Nr, W)
    out = np.empty(len(starts))
    for s in range(0, len(starts), block):
        q = np.asarray(starts[s:s + block])
        corr = z[q] @ R.T / W  # (b, Nr)
        d2 = np.maximum(2.0 * W * (1.0 - corr), 0.0)
        trivial = np.abs(q[:, None] - ref_starts[None, :]) < W  # (b, Nr) self-overlaps
        d2[trivial] = np.inf
        out[s:s + block] = np.sqrt(d2.min(1))
    return out


def window_to_points(starts: np.ndarray, scores: np.ndarray, W: int, n: int) -> np.ndarray:
    """(n,) point scores: the largest score of the windows covering each point (NaN where
    none does) — a discord window marks all of its points."""
    out = np.full(n, -np.inf)
    for j in range(W):
        np.maximum.at(out, starts + j, scores)
    out[np.isneginf(out)] = np.nan
    return out


def ucr_hit(scores: np.ndarray, labels: np.ndarray, *, min_slack: int = 100) -> float | None:
    """1.0 if the top-scored point lies within a labelled region ± max(min_slack, its
    length), else 0.0; None without a labelled region (nothing to locate)."""
    s = np.asarray(scores, dtype=np.float64)
    regions = segments(labels)
    if not regions or not np.isfinite(s).any():
        return None
    top = int(np.nanargmax(np.where(np.isfinite(s), s, -np.inf)))
    for a, b in regions:
        slack = max(min_slack, b - a)
        if a - slack <= top < b + slack:
            return 1.0
    return 0.0


__all__ = ["nn_distances", "window_to_points", "ucr_hit"]
