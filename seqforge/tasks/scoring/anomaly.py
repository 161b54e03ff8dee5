"""Numbers behind anomaly flags: window errors → point scores → threshold → flags → P/R/F1.

Pure numpy, no model: the ``anomaly`` task feeds it reconstruction errors, the baseline
feeds it its own scores, and the tests check it against hand computation.

A window starting at ``s`` covers points ``s .. s+W-1`` and gives one squared error per
covered point. How a point's flag follows from the windows covering it is the
``point_rule``:

* ``min_error`` (default) — the smallest squared error any covering window makes at the
  point: flagged only if *every* window rebuilds it badly, above the same quantile of
  that score on normal validation points. An autoencoder that meets a spike rebuilds
  its *whole* window badly, but the windows that end just before the spike or start
  just after it rebuild the neighbours well — so only the spike itself stays flagged.
  Its blind spot: a point some window can "explain" (the first steps of a flat-line
  look like a crest).
* ``mean_error`` — the squared error averaged over the covering windows: the best
  recall, but one spike raises the score of every point within a window's reach.
* ``any_window`` / ``most_windows`` — flagged if any / more than half of the covering
  windows are flagged (window error above the quantile of validation window errors).
  These smear one bad step over up to ``2W - 1`` points: a 1-step spike in a 32-step
  window flags ~60 points, so point precision collapses. They are here because they are
  the textbook rules; the default scores points directly.

Measured on the built-in series (see ``specs/anomaly_lstm_ae.yaml``), point-wise F1 with
the same model: min_error ≈ 0.78–0.83, mean_error ≈ 0.3, most_windows ≈ 0.25.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

PointRule = Literal["min_error", "mean_error", "any_window", "most_windows"]


def coverage(starts: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-window, per-step values laid out by point: (n, W), NaN where no window is.

    ``starts`` (M,) window starts; ``values`` (M, W). Row p, column j holds the value of
    the window starting at ``p - j`` at its step j (each point is step j of at most one
    window per j).
    """
    starts = np.asarray(starts, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    M, W = values.shape
    out = np.full((n, W), np.nan)  # (n, W)
    if M:
        rows = starts[:, None] + np.arange(W)[None, :]  # (M, W) point of each step
        cols = np.broadcast_to(np.arange(W)[None, :], (M, W))
        out[rows, cols] = values
    return out


def point_scores(starts: np.ndarray, step_errors: np.ndarray, n: int,
                 how: str = "mean") -> np.ndarray:
    """(n,) score per point from its covering windows (``mean`` or ``min``); NaN if none."""
    grid = coverage(starts, step_errors, n)  # (n, W)
    covered = ~np.isnan(grid).all(axis=1)
    out = np.full(n, np.nan)
    if covered.any():
        fn = np.nanmean if how == "mean" else np.nanmin
        out[covered] = fn(grid[covered], axis=1)
    return out


def window_vote(starts: np.ndarray, window_flags: np.ndarray, W: int, n: int,
                rule: str) -> np.ndarray:
    """(n,) point flags from window flags: ``any`` or ``most`` (> half) of covering windows.

    Points no window covers are not flagged.
    """
    flags = np.asarray(window_flags, dtype=np.float64)[:, None].repeat(W, axis=1)  # (M, W)
    grid = coverage(starts, flags, n)  # (n, W)
    seen = (~np.isnan(grid)).sum(axis=1)  # (n,) windows covering each point
    hits = np.nansum(grid, axis=1)  # (n,) flagged ones among them
    if rule == "any":
        return hits > 0
    return hits * 2 > np.maximum(seen, 1)


def quantile_threshold(scores: np.ndarray, q: float) -> float:
    """The ``q`` quantile of the finite scores (linear interpolation, numpy's default)."""
    s = np.asarray(scores, dtype=np.float64)
    s = s[np.isfinite(s)]
    if not s.size:
        raise ValueError("no finite scores to take a threshold from")
    return float(np.quantile(s, q))


def flag(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Strictly above the threshold; NaN (uncovered) is never flagged."""
    s = np.asarray(scores, dtype=np.float64)
    return np.where(np.isfinite(s), s > threshold, False)


def precision_recall_f1(flags: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Point-wise precision, recall and F1; a 0/0 ratio counts as 0 (sklearn's
    ``zero_division=0``), so flagging nothing scores 0, not a perfect precision."""
    f = np.asarray(flags, dtype=bool)
    y = np.asarray(labels, dtype=bool)
    tp = int(np.sum(f & y))
    fp = int(np.sum(f & ~y))
    fn = int(np.sum(~f & y))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1}


def segments(labels: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive 1s as half-open (start, stop) pairs."""
    y = np.concatenate([[0], np.asarray(labels, dtype=np.int8), [0]])
    d = np.diff(y)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def event_scores(flags: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Event-level precision / recall / F1 (as in Hundman et al. 2018, "Detecting
    spacecraft anomalies using LSTMs"): an *event* is a run of consecutive 1s.

    Recall: the share of labelled events with at least one flagged point. Precision: the
    share of flagged events (runs of flagged points) that overlap a labelled event — a
    flagged run next to, but not touching, an anomaly is a false alarm. 0/0 counts as 0.
    """
    f = np.asarray(flags, dtype=bool)
    y = np.asarray(labels, dtype=bool)
    truth, found = segments(y), segments(f)
    hit = sum(bool(f[a:b].any()) for a, b in truth)
    good = sum(bool(y[a:b].any()) for a, b in found)
    r = hit / len(truth) if truth else 0.0
    p = good / len(found) if found else 0.0
    return {"event_precision": p, "event_recall": r,
            "event_f1": 2 * p * r / (p + r) if p + r else 0.0}


def detection_metrics(flags: np.ndarray, labels: np.ndarray | None) -> dict[str, float]:
    """Point-wise and event-level P/R/F1 where labels exist; else how much was flagged."""
    f = np.asarray(flags, dtype=bool)
    if labels is None:
        return {"flagged_points": float(f.sum()),
                "flagged_fraction": float(f.mean()) if f.size else 0.0}
    return {**precision_recall_f1(f, labels), **event_scores(f, labels)}


def difference_scores(values: np.ndarray) -> np.ndarray:
    """The baseline's score: |x_t - x_{t-1}| (NaN at t = 0, which has no predecessor)."""
    v = np.asarray(values, dtype=np.float64)
    out = np.full(v.shape[0], np.nan)
    out[1:] = np.abs(np.diff(v))
    return out
