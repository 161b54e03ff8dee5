"""Model-free forecasts every model must beat, from each item's raw history alone.

``hist`` (M, H, T) holds the raw target rows before each forecast origin (its input
window, plus a season when that is longer); each baseline returns (M, Hz, T):

* ``persistence`` (naive) — the last value, held: tomorrow = today;
* ``seasonal_naive`` — the value one season before each predicted step (season > 1);
* ``drift`` — the last value plus the window's average step per step ahead (the line
  through the window's first and last values, as in Hyndman & Athanasopoulos, §5.2);
* ``moving_average`` — the mean of the last ``k`` values, held.
"""

from __future__ import annotations

import numpy as np


def persistence(hist: np.ndarray, horizon: int) -> np.ndarray:
    return np.repeat(hist[:, -1:], horizon, axis=1)


def seasonal_naive(hist: np.ndarray, horizon: int, season: int) -> np.ndarray:
    H = hist.shape[1]
    idx = H - season + (np.arange(horizon) % season)  # (Hz,) one season before each step
    return hist[:, idx]


def drift(hist: np.ndarray, horizon: int) -> np.ndarray:
    H = hist.shape[1]
    slope = (hist[:, -1] - hist[:, 0]) / max(H - 1, 1)  # (M, T)
    steps = np.arange(1, horizon + 1)[None, :, None]
    return hist[:, -1:] + steps * slope[:, None]


def moving_average(hist: np.ndarray, horizon: int, k: int) -> np.ndarray:
    return np.repeat(hist[:, -k:].mean(axis=1, keepdims=True), horizon, axis=1)


def baseline_forecasts(hist: np.ndarray, horizon: int, season: int, ma_window: int
                       ) -> dict[str, np.ndarray]:
    """Every applicable baseline's forecast (M, Hz, T), by name."""
    H = hist.shape[1]
    out = {"persistence": persistence(hist, horizon)}
    if 1 < season <= H:
        out["seasonal_naive"] = seasonal_naive(hist, horizon, season)
    if H >= 2:
        out["drift"] = drift(hist, horizon)
    k = min(ma_window, H)
    if k >= 2:
        out["moving_average"] = moving_average(hist, horizon, k)
    return out


__all__ = ["persistence", "seasonal_naive", "drift", "moving_average", "baseline_forecasts"]
