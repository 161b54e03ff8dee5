"""forecast: predict the next ``horizon`` values of a series from a window of its past.

Loss is MSE on scaled values; metrics (RMSE, MAE, MAPE) are in the data's own units —
prices in dollars — after inverting the scaler. The baseline is *persistence*
(tomorrow = today), the forecast every model must beat to be worth anything.

Multi-step: ``strategy: direct`` predicts all horizon steps at once; ``recursive``
predicts one step, appends it to the window and repeats (needs inputs == targets).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.base import columns_of
from ..data.facets import Series
from ..data.io.rows import write_rows
from ..errors import SpecError
from ..kinds import Shape
from ..plots import figure, save_figure
from .base import ArtifactContext, Batch, Metrics, Task, TaskParams


class ForecastParams(TaskParams):
    strategy: Literal["direct", "recursive"] = "direct"


def _errors(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    err = pred - true
    denom = np.abs(true)
    ok = denom > 1e-12  # MAPE is undefined at zero; skip those points
    return {
        "rmse": float(np.sqrt(np.mean(err ** 2))),
        "mae": float(np.mean(np.abs(err))),
        "mape": float(np.mean(np.abs(err[ok]) / denom[ok]) * 100) if ok.any() else float("nan"),
    }


class ForecastMetrics(Metrics):
    def __init__(self, task: Forecast, model: torch.nn.Module):
        self.task, self.model = task, model
        self.preds: list[np.ndarray] = []
        self.trues: list[np.ndarray] = []

    def update(self, out: Tensor, batch: Batch) -> None:
        pred = self.task.forecast_from(out, batch, self.model)  # (B, Hz·T) scaled
        self.preds.append(pred.detach().cpu().numpy())
        self.trues.append(batch["y"].detach().cpu().numpy())

    def compute(self) -> dict[str, float]:
        if not self.preds:
            return {}
        pred = self.task.unscale(np.concatenate(self.preds))
        true = self.task.unscale(np.concatenate(self.trues))
        return _errors(pred, true)


class Forecast(Task):
    """Next values of a series (RMSE/MAE/MAPE vs persistence)."""

    Params = ForecastParams
    outputs = (Shape.VECTOR,)
    requires = (Series,)

    def __init__(self, params, info):
        super().__init__(params, info)
        self.series = info.facet(Series, needed_by="task 'forecast'")
        self.horizon = self.series.horizon
        self.n_targets = len(self.series.targets)
        if self.params.strategy == "recursive" and self.series.inputs != self.series.targets:
            raise SpecError("strategy 'recursive' feeds predictions back as inputs, so data.inputs "
                            f"must equal data.target (inputs {self.series.inputs}, target "
                            f"{self.series.targets}) — use strategy: direct", path="task.strategy")

    def output_size(self) -> int:
        return self.n_targets * (1 if self.params.strategy == "recursive" else self.horizon)

    # -- predictions in scaled units -------------------------------------------------------
    def forecast_from(self, out: Tensor, batch: Batch, model: torch.nn.Module) -> Tensor:
        """(B, Hz·T) forecast. Recursive: roll the one-step model forward."""
        if self.params.strategy == "direct" or self.horizon == 1:
            return out
        steps, x = [out], batch["x"]
        for _ in range(self.horizon - 1):
            x = torch.cat([x[:, 1:], steps[-1].unsqueeze(1)], dim=1)  # slide the window
            nxt, _ = model({**batch, "x": x})
            steps.append(nxt)
        return torch.cat(steps, dim=1)  # (B, Hz·T)

    def unscale(self, flat: np.ndarray) -> np.ndarray:
        """(N, Hz·T) scaled → same shape in the data's units."""
        v = flat.reshape(flat.shape[0], -1, self.n_targets)  # (N, Hz, T)
        back = self.series.scaler.inverse_transform(v.reshape(-1, self.n_targets),
                                                    columns=self.series.target_idx)
        return back.reshape(flat.shape)

    # -- contract --------------------------------------------------------------------------
    def loss(self, out: Tensor, batch: Batch) -> Tensor:
        y = batch["y"]  # (B, Hz·T)
        if self.params.strategy == "recursive":
            y = y[:, :self.n_targets]  # trained one step ahead
        return F.mse_loss(out, y)

    def new_metrics(self, model) -> Metrics:
        return ForecastMetrics(self, model)

    def baseline_name(self) -> str:
        return "persistence"

    def persistence(self, data) -> np.ndarray:
        """(N, Hz·T) the last observed value held over the horizon, in the data's units."""
        last = columns_of(data, "last")["last"].numpy()  # (N, T)
        return self.unscale(np.tile(last, (1, self.horizon)))

    def baseline(self, data) -> dict[str, float]:
        if data is None or len(data) == 0:
            return {}
        return _errors(self.persistence(data), self.unscale(columns_of(data, "y")["y"].numpy()))

    def predict(self, model, batch) -> list[dict[str, Any]]:
        out, _ = model(batch)
        pred = self.unscale(self.forecast_from(out, batch, model).cpu().numpy())  # (B, Hz·T)
        rows = []
        for i, p in enumerate(pred):
            row: dict[str, Any] = {}
            if "after" in batch:
                row["after"] = batch["after"][i]
            for h in range(self.horizon):
                for k, name in enumerate(self.series.targets):
                    row[f"{name}_t+{h + 1}"] = round(float(p[h * self.n_targets + k]), 6)
            rows.append(row)
        return rows

    def artifacts(self, ctx: ArtifactContext) -> list:
        """Predicted vs real over the test period (first step, first target), and a CSV."""
        _, ds = ctx.split()
        if ds is None:
            return []
        preds, trues = [], []
        for batch, out in ctx.passes.outputs(ds):
            preds.append(self.forecast_from(out, batch, ctx.model).cpu().numpy())
            trues.append(batch["y"].cpu().numpy())
        pred = self.unscale(np.concatenate(preds))
        true = self.unscale(np.concatenate(trues))
        persist = self.persistence(ds)
        t = columns_of(ds, "t")["t"].numpy()
        dates = self.series.dates
        xs = dates[t] if dates is not None else t
        name = self.series.targets[0]
        fig, ax = figure(figsize=(10, 4.5))
        ax.plot(xs, true[:, 0], label=f"real {name}", color="black", linewidth=1.2)
        ax.plot(xs, pred[:, 0], label=f"predicted {name}", color="tab:blue", linewidth=1.2)
        ax.plot(xs, persist[:, 0], label="persistence baseline", color="tab:gray",
                linewidth=0.8, linestyle="--", alpha=0.7)
        ax.set_title(f"{ctx.summary.get('name', '')}: {name}, test period (1 step ahead)")
        ax.set_ylabel(name)
        ax.set_xlabel("date" if dates is not None else "step")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.autofmt_xdate()
        files = [save_figure(fig, ctx.run_dir / "forecast.png")]
        rows = []
        for i in range(len(t)):
            row = {"date" if dates is not None else "t": str(xs[i])}
            for h in range(self.horizon):
                for k, tn in enumerate(self.series.targets):
                    j = h * self.n_targets + k
                    row[f"{tn}_t+{h + 1}_true"] = round(float(true[i, j]), 6)
                    row[f"{tn}_t+{h + 1}_pred"] = round(float(pred[i, j]), 6)
                    row[f"{tn}_t+{h + 1}_persistence"] = round(float(persist[i, j]), 6)
            rows.append(row)
        write_rows(rows, ctx.run_dir / "predictions.csv")
        files.append(ctx.run_dir / "predictions.csv")
        return files
