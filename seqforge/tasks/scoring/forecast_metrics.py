"""Forecast scores in the data's own units, for a model and its baselines alike.

* ``rmse``, ``mae``, ``mape`` (%, points where the truth is 0 skipped), ``smape`` (%, the
  M4 competition's 200·|F−A|/(|A|+|F|), 0/0 skipped) and ``mase`` — MAE over the
  in-sample MAE of the seasonal naive forecast (lag = season, 1 without one) on each
  series' training rows, averaged over series and targets: < 1 beats that naive forecast
  on the data it was fitted on, and it compares across series of any scale;
* per horizon step (horizon > 1): ``rmse_h1`` … and ``mase_h1`` …;
* probabilistic (quantiles q_1 < … < q_Q): ``coverage`` — the share of true values
  inside [q_1, q_Q] (nominal ``q_Q − q_1``) —, ``width`` — its mean width — and
  ``pinball`` — the mean quantile loss over all quantiles (half the CRPS's quantile-grid
  approximation).

Shapes: forecasts (M, Hz, T) or quantiles (M, Hz, Q, T); truth (M, Hz, T); ``scale``
(M, T) — each item's series' MASE denominator.
"""

from __future__ import annotations

import numpy as np


def point_errors(pred: np.ndarray, true: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    err = pred - true  # (M, Hz, T)
    denom = np.abs(true)
    ok = denom > 1e-12  # MAPE is undefined at zero; skip those points
    both = np.abs(true) + np.abs(pred)
    sok = both > 1e-12
    mase = np.abs(err) / scale[:, None, :]  # (M, Hz, T)
    # an infinite forecast makes sMAPE inf/inf: NaN is the honest value, the warning noise
    with np.errstate(invalid="ignore"):
        return _point(err, denom, ok, both, sok, mase)


def _point(err, denom, ok, both, sok, mase) -> dict[str, float]:
    return {
        "rmse": float(np.sqrt(np.mean(err ** 2))),
        "mae": float(np.mean(np.abs(err))),
        "mape": float(np.mean(np.abs(err[ok]) / denom[ok]) * 100) if ok.any() else float("nan"),
        "smape": float(np.mean(2 * np.abs(err[sok]) / both[sok]) * 100) if sok.any()
        else float("nan"),
        "mase": float(np.nanmean(mase)) if np.isfinite(mase).any() else float("nan"),
    }


def by_horizon(pred: np.ndarray, true: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    """``rmse_h<k>`` and ``mase_h<k>`` for each step k = 1 … Hz (nothing for Hz = 1)."""
    out: dict[str, float] = {}
    if pred.shape[1] < 2:
        return out
    err = pred - true
    for h in range(pred.shape[1]):
        out[f"rmse_h{h + 1}"] = float(np.sqrt(np.mean(err[:, h] ** 2)))
    for h in range(pred.shape[1]):
        out[f"mase_h{h + 1}"] = float(np.nanmean(np.abs(err[:, h]) / scale))
    return out


def pinball(q_pred: np.ndarray, true: np.ndarray, quantiles: list[float]) -> float:
    """Mean quantile (pinball) loss: (M, Hz, Q, T) against (M, Hz, T)."""
    q = np.asarray(quantiles)[None, None, :, None]
    diff = true[:, :, None, :] - q_pred
    return float(np.mean(np.maximum(q * diff, (q - 1) * diff)))


def interval_scores(q_pred: np.ndarray, true: np.ndarray, quantiles: list[float]
                    ) -> dict[str, float]:
    lo, hi = q_pred[:, :, 0], q_pred[:, :, -1]  # (M, Hz, T)
    inside = (true >= lo) & (true <= hi)
    return {"coverage": float(inside.mean()), "width": float(np.mean(hi - lo)),
            "pinball": pinball(q_pred, true, quantiles)}


def forecast_scores(q_pred: np.ndarray, true: np.ndarray, scale: np.ndarray,
                    quantiles: list[float] | None, point: int = 0) -> dict[str, float]:
    """Everything above for (M, Hz, Q, T) forecasts whose ``point``-th quantile is the
    point forecast (Q = 1 for a point forecast, ``quantiles`` None)."""
    pred = q_pred[:, :, point]
    out = point_errors(pred, true, scale)
    out.update(by_horizon(pred, true, scale))
    if quantiles and len(quantiles) > 1:
        out.update(interval_scores(q_pred, true, quantiles))
    return out


__all__ = ["point_errors", "by_horizon", "pinball", "interval_scores", "forecast_scores"]
