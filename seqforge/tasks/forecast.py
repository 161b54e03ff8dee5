"""forecast: predict the next ``horizon`` values of a series from a window of its past.

The model learns in model units (transformed, scaled, window-normalised — see
:mod:`seqforge.data.forecasting.prepare`); every metric, prediction and plot is in the
data's own units — prices in dollars — after the exact inverse
(:mod:`seqforge.data.forecasting.invert`). Beside the model, every run scores the simple
baselines (:mod:`.scoring.forecast_baselines`: persistence, seasonal naive, drift, moving
average) and reports the strongest of them by RMSE.

* Point forecasts: MSE loss. Probabilistic: ``quantiles: [0.1, 0.5, 0.9]`` trains one
  output per quantile with the pinball loss; ``likelihood: gaussian`` a mean and a scale
  with the Gaussian likelihood, ``student_t`` a location, scale and degrees of freedom
  (its quantiles reported). The median is the point
  forecast; coverage, width and pinball loss score the interval.
* Multi-step: ``strategy: direct`` predicts all horizon steps at once; ``recursive``
  predicts one step, appends it to the window (re-normalised) and repeats (needs inputs
  == targets). Metrics per horizon step when the horizon is > 1.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field, field_validator
from torch import Tensor

from ..data.base import columns_of
from ..data.facets import Series
from ..data.forecasting.invert import to_raw
from ..data.transforms.window_norm import normalise, restore, target_stats, window_stats
from ..errors import SpecError
from ..kinds import Shape
from .base import ArtifactContext, Batch, Metrics, Task, TaskParams
from .scoring.distributions import (
    DEFAULT_QUANTILES,
    head_quantiles,
    nll,
    pinball_loss,
    student_t_nll,
    student_t_quantiles,
)
from .scoring.forecast_baselines import baseline_forecasts
from .scoring.forecast_metrics import forecast_scores
from .scoring.forecast_plots import write_artifacts

#: outputs per target step of each likelihood head
HEAD_PARAMS = {"gaussian": 2, "student_t": 3}


class ForecastParams(TaskParams):
    strategy: Literal["direct", "recursive"] = "direct"
    quantiles: list[float] = Field(
        default_factory=list, description="e.g. [0.1, 0.5, 0.9]: one output per quantile, "
        "pinball loss; must include 0.5 (the point forecast)")
    likelihood: Literal["none", "gaussian", "student_t"] = Field(
        "none", description="gaussian: predict a mean and a scale (Gaussian likelihood); "
        "student_t: a location, a scale and degrees of freedom (> 2; heavy tails)")
    ma_window: int | Literal["auto"] = Field(
        "auto", description="moving-average baseline length; auto: the season, or 7")

    @field_validator("quantiles")
    @classmethod
    def _quantiles(cls, v):
        if not v:
            return v
        bad = [q for q in v if not 0 < q < 1]
        if bad:
            raise ValueError(f"quantiles must lie strictly between 0 and 1, got {bad[0]}")
        if any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError(f"quantiles must be sorted and distinct, got {v}")
        if 0.5 not in v:
            raise ValueError(f"quantiles must include 0.5, the point forecast (got {v})")
        if len(v) > 99:
            raise ValueError(f"at most 99 quantiles, got {len(v)}")
        return v

    @field_validator("ma_window")
    @classmethod
    def _ma(cls, v):
        if isinstance(v, int) and v < 2:
            raise ValueError(f"ma_window must be at least 2, got {v}")
        return v


class ForecastMetrics(Metrics):
    def __init__(self, task: Forecast, model: torch.nn.Module):
        self.task, self.model = task, model
        self.preds: list[np.ndarray] = []
        self.trues: list[np.ndarray] = []
        self.scales: list[np.ndarray] = []

    def update(self, out: Tensor, batch: Batch) -> None:
        self.preds.append(self.task.raw_forecast(out, batch, self.model))
        self.trues.append(self.task.truth(batch))
        self.scales.append(self.task.mase_scale(batch))

    def compute(self) -> dict[str, float]:
        if not self.preds:
            return {}
        return self.task.score(np.concatenate(self.preds), np.concatenate(self.trues),
                               np.concatenate(self.scales))


class Forecast(Task):
    """Next values of a series (RMSE/MAE/MAPE/sMAPE/MASE vs the strongest baseline)."""

    Params = ForecastParams
    outputs = (Shape.VECTOR,)
    requires = (Series,)
    #: what "the strongest baseline" and "beats it" are judged by
    headline = "rmse"

    def __init__(self, params, info):
        super().__init__(params, info)
        p = self.params
        self.series = s = info.facet(Series, needed_by="task 'forecast'")
        self.horizon = s.horizon
        self.n_targets = len(s.targets)
        self.quantiles = list(p.quantiles) or (list(DEFAULT_QUANTILES)
                                               if p.likelihood != "none" else [])
        self.point = self.quantiles.index(0.5) if self.quantiles else 0
        self.per_step = HEAD_PARAMS.get(p.likelihood, max(1, len(p.quantiles)))
        self._best = "persistence"
        if p.strategy == "recursive":
            if s.inputs != s.targets or s.calendar or s.future:
                raise SpecError("strategy 'recursive' feeds predictions back as inputs, so "
                                f"data.inputs must equal data.target (inputs {s.inputs}, target "
                                f"{s.targets}) and data.calendar and data.future be empty — "
                                "use strategy: direct", path="task.strategy")
            if self.quantiles and self.horizon > 1:
                raise SpecError("strategy 'recursive' rolls the point forecast forward, which "
                                "has no quantiles past one step — use strategy: direct for "
                                "probabilistic multi-step forecasts", path="task.strategy")

    def output_size(self) -> int:
        steps = 1 if self.params.strategy == "recursive" else self.horizon
        return self.n_targets * self.per_step * steps

    # -- model units ---------------------------------------------------------------------
    def _steps(self, out: Tensor) -> Tensor:
        """(B, O) → (B, Hz', P, T)."""
        return out.view(out.shape[0], -1, self.per_step, self.n_targets)

    def _quantiles_of(self, out: Tensor) -> Tensor:
        """(B, Hz', Q, T) model-unit forecasts: sorted quantiles (monotone rearrangement,
        so quantiles never cross), the likelihood head's quantiles, or the point forecast."""
        steps = self._steps(out)
        if self.params.likelihood == "gaussian":
            return head_quantiles(steps, self.quantiles)
        if self.params.likelihood == "student_t":
            return student_t_quantiles(steps, self.quantiles)
        return steps.sort(dim=2).values if self.per_step > 1 else steps

    def forecast_from(self, out: Tensor, batch: Batch, model: torch.nn.Module) -> Tensor:
        """(B, Hz, Q, T) forecasts in model units. Recursive: roll the one-step model
        forward, re-normalising each slid window as the dataset would."""
        q = self._quantiles_of(out)
        if self.params.strategy == "direct" or self.horizon == 1:
            return q
        s = self.series
        x = restore(batch["x"], batch["x_loc"], batch["x_scale"])  # (B, W, I) scaled units
        y_loc, y_scale = batch["y_loc"], batch["y_scale"]
        steps = [q]  # every step in the first window's model units
        for _ in range(self.horizon - 1):
            nxt = steps[-1][:, 0, self.point] * y_scale + y_loc  # (B, T) scaled units
            x = torch.cat([x[:, 1:], nxt.unsqueeze(1)], dim=1)  # slide the window
            loc, scale = window_stats(x, s.window_norm)
            s_loc, s_scale = target_stats(x, s.window_norm, s.residual)
            out, _ = model({**batch, "x": normalise(x, loc, scale)})
            # back into the first window's model units, where the inverse happens
            step = (self._quantiles_of(out) * s_scale[:, None, None] + s_loc[:, None, None]
                    - y_loc[:, None, None]) / y_scale[:, None, None]
            steps.append(step)
        return torch.cat(steps, dim=1)

    # -- the data's units ----------------------------------------------------------------
    def raw_forecast(self, out: Tensor, batch: Batch, model: torch.nn.Module) -> np.ndarray:
        """(B, Hz, Q, T) float64 forecasts in the data's units."""
        q = self.forecast_from(out, batch, model).detach().cpu().numpy()
        return self.to_raw(q, batch)

    def to_raw(self, q: np.ndarray, batch: Batch) -> np.ndarray:
        hist = batch.get("hist")
        return to_raw(self.series, q, _np(batch["y_loc"]), _np(batch["y_scale"]),
                      _np(batch["sid"]), None if hist is None else _np(hist))

    def truth(self, batch: Batch) -> np.ndarray:
        return _np(batch["y_raw"]).reshape(-1, self.horizon, self.n_targets)

    def mase_scale(self, batch: Batch) -> np.ndarray:
        """(B, T) each item's series' MASE denominator (NaN for runs saved without it)."""
        table = np.asarray(self.series.mase_scale, dtype=np.float64)
        if table.size == 0:
            return np.full((len(batch["sid"]), self.n_targets), np.nan)
        return table[_np(batch["sid"]).astype(np.int64)]

    def score(self, q_pred: np.ndarray, true: np.ndarray, scale: np.ndarray) -> dict[str, float]:
        return forecast_scores(q_pred, true, scale, self.quantiles or None, self.point)

    # -- contract ------------------------------------------------------------------------
    def loss(self, out: Tensor, batch: Batch) -> Tensor:
        y = batch["y"].view(out.shape[0], self.horizon, self.n_targets)  # (B, Hz, T)
        if self.params.strategy == "recursive":
            y = y[:, :1]  # trained one step ahead
        steps = self._steps(out)
        if self.params.likelihood == "gaussian":
            return nll(steps, y)
        if self.params.likelihood == "student_t":
            return student_t_nll(steps, y)
        if self.per_step > 1:
            q = torch.tensor(self.quantiles, dtype=out.dtype, device=out.device)
            return pinball_loss(steps, y, q)
        return F.mse_loss(steps[:, :, 0], y)

    def new_metrics(self, model) -> Metrics:
        return ForecastMetrics(self, model)

    def baseline_name(self) -> str:
        return self._best

    def ma_window(self) -> int:
        k = self.params.ma_window
        return k if isinstance(k, int) else (self.series.season if self.series.season > 1 else 7)

    def baseline_forecasts(self, data) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """({name: (N, Hz, T)} forecasts, truth (N, Hz, T), MASE scale (N, T)) on ``data``."""
        cols = columns_of(data, "hist", "y_raw", "sid")
        batch = {k: cols[k] for k in ("y_raw", "sid")}
        fc = baseline_forecasts(_np(cols["hist"]), self.horizon, self.series.season,
                                self.ma_window())
        return fc, self.truth(batch), self.mase_scale(batch)

    def baselines(self, data) -> list[dict[str, Any]]:
        """Every baseline's metrics on ``data`` (``[{"name", **metrics}]``), strongest
        (lowest RMSE) first."""
        if data is None or len(data) == 0:
            return []
        fc, true, scale = self.baseline_forecasts(data)
        scored = [{"name": name, **forecast_scores(f[:, :, None], true, scale, None)}
                  for name, f in fc.items()]
        return sorted(scored, key=lambda b: b["rmse"])

    def baseline(self, data) -> dict[str, float]:
        """The strongest baseline's metrics (its name: :meth:`baseline_name`)."""
        every = self.baselines(data)
        if not every:
            return {}
        self._best = every[0]["name"]
        return {k: v for k, v in every[0].items() if k != "name"}

    def predict(self, model, batch) -> list[dict[str, Any]]:
        out, _ = model(batch)
        pred = self.raw_forecast(out, batch, model)  # (B, Hz, Q, T)
        rows = []
        for i in range(pred.shape[0]):
            row: dict[str, Any] = {}
            for key in ("series", "after"):
                if key in batch:
                    row[key] = batch[key][i]
            for h in range(self.horizon):
                for k, name in enumerate(self.series.targets):
                    row[f"{name}_t+{h + 1}"] = round(float(pred[i, h, self.point, k]), 6)
                    for j, q in enumerate(self.quantiles):
                        row[f"{name}_t+{h + 1}_q{q:g}"] = round(float(pred[i, h, j, k]), 6)
            rows.append(row)
        return rows

    def artifacts(self, ctx: ArtifactContext) -> list:
        return write_artifacts(self, ctx)


def _np(v) -> np.ndarray:
    return v.detach().cpu().numpy() if isinstance(v, Tensor) else np.asarray(v)
