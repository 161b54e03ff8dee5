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

from ..errors import SpecError
from .base import ArtifactContext, Metrics, Task, TaskParams


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
    def __init__(self, task: "Forecast"):
        self.task = task
        self.preds: list[np.ndarray] = []
        self.trues: list[np.ndarray] = []

    def update(self, out: Tensor, batch: dict[str, Any]) -> None:
        pred = self.task.forecast_from(out, batch)  # (B, Hz·T) scaled
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
    outputs = ("vector",)

    def __init__(self, params, bundle):
        super().__init__(params, bundle)
        m = self.info.meta
        if "horizon" not in m or "target_idx" not in m:
            raise SpecError("task 'forecast' needs a windowed series dataset (e.g. timeseries_csv)",
                            path="task")
        self.horizon = m["horizon"]
        self.n_targets = len(m["target_idx"])
        if self.params.strategy == "recursive" and list(m["input_idx"]) != list(m["target_idx"]):
            raise SpecError("strategy 'recursive' feeds predictions back as inputs, so data.inputs "
                            f"must equal data.target (inputs {m['inputs']}, target {m['targets']}) "
                            "— use strategy: direct", path="task.strategy")

    def output_size(self) -> int:
        return self.n_targets * (1 if self.params.strategy == "recursive" else self.horizon)

    # -- predictions in scaled units -------------------------------------------------------
    def forecast_from(self, out: Tensor, batch: dict[str, Any], model=None) -> Tensor:
        """(B, Hz·T) forecast. Recursive: roll the one-step model forward (needs model)."""
        if self.params.strategy == "direct" or self.horizon == 1:
            return out
        model = model or self._model
        steps, x = [out], batch["x"]
        for _ in range(self.horizon - 1):
            x = torch.cat([x[:, 1:], steps[-1].unsqueeze(1)], dim=1)  # slide the window
            nxt, _ = model({**batch, "x": x})
            steps.append(nxt)
        return torch.cat(steps, dim=1)  # (B, Hz·T)

    def unscale(self, flat: np.ndarray) -> np.ndarray:
        """(N, Hz·T) scaled → same shape in the data's units."""
        scaler = self.info.meta["scaler"]
        v = flat.reshape(flat.shape[0], -1, self.n_targets)  # (N, Hz, T)
        back = scaler.inverse_transform(v.reshape(-1, self.n_targets),
                                        columns=self.info.meta["target_idx"])
        return back.reshape(flat.shape)

    # -- contract --------------------------------------------------------------------------
    def loss(self, out: Tensor, batch: dict[str, Any]) -> Tensor:
        y = batch["y"]  # (B, Hz·T)
        if self.params.strategy == "recursive":
            y = y[:, :self.n_targets]  # trained one step ahead
        return F.mse_loss(out, y)

    def new_metrics(self) -> Metrics:
        return ForecastMetrics(self)

    def baseline_name(self) -> str:
        return "persistence"

    def baseline(self, split: str = "test") -> dict[str, float]:
        ds = self.bundle.split(split)
        if ds is None:
            return {}
        last = ds.columns["last"].numpy()  # (N, T)
        pred = np.tile(last, (1, self.horizon))  # (N, Hz·T): the last value, held
        return _errors(self.unscale(pred), self.unscale(ds.columns["y"].numpy()))

    def predict(self, model, batch) -> list[dict[str, Any]]:
        out, _ = model(batch)
        pred = self.unscale(self.forecast_from(out, batch, model).cpu().numpy())  # (B, Hz·T)
        names = self.info.meta["targets"]
        rows = []
        for i, p in enumerate(pred):
            row: dict[str, Any] = {}
            if "after" in batch:
                row["after"] = batch["after"][i]
            for h in range(self.horizon):
                for k, name in enumerate(names):
                    row[f"{name}_t+{h + 1}"] = round(float(p[h * self.n_targets + k]), 6)
            rows.append(row)
        return rows

    def artifacts(self, ctx: ArtifactContext) -> list:
        """Predicted vs real over the test period (first step, first target), and a CSV."""
        ds = self.bundle.test or self.bundle.val
        if ds is None:
            return []
        from ..plots import _plt, save_figure
        from ..predict_io import write_rows

        self.bind_model(ctx.model)
        model = ctx.model.eval()
        preds, trues = [], []
        with torch.no_grad():
            for batch in self.bundle.loader("test" if self.bundle.test else "val", 256):
                batch = {k: v.to(ctx.device) for k, v in batch.items()}
                out, _ = model(batch)
                preds.append(self.forecast_from(out, batch, model).cpu().numpy())
                trues.append(batch["y"].cpu().numpy())
        pred = self.unscale(np.concatenate(preds))
        true = self.unscale(np.concatenate(trues))
        persist = self.unscale(np.tile(ds.columns["last"].numpy(), (1, self.horizon)))
        t = ds.columns["t"].numpy()
        dates = self.info.meta.get("dates")
        xs = dates[t] if dates is not None else t
        name = self.info.meta["targets"][0]
        plt = _plt()
        fig, ax = plt.subplots(figsize=(10, 4.5))
        ax.plot(xs, true[:, 0], label=f"real {name}", color="black", linewidth=1.2)
        ax.plot(xs, pred[:, 0], label=f"predicted {name}", color="tab:blue", linewidth=1.2)
        ax.plot(xs, persist[:, 0], label="persistence baseline", color="tab:gray",
                linewidth=0.8, linestyle="--", alpha=0.7)
        ax.set_title(f"{ctx.summary.get('name', '')}: {name}, test period (1 step ahead)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.autofmt_xdate()
        files = [save_figure(fig, ctx.run_dir / "forecast.png")]
        rows = []
        for i in range(len(t)):
            row = {"date" if dates is not None else "t": str(xs[i])}
            for h in range(self.horizon):
                for k, tn in enumerate(self.info.meta["targets"]):
                    j = h * self.n_targets + k
                    row[f"{tn}_t+{h + 1}_true"] = round(float(true[i, j]), 6)
                    row[f"{tn}_t+{h + 1}_pred"] = round(float(pred[i, j]), 6)
                    row[f"{tn}_t+{h + 1}_persistence"] = round(float(persist[i, j]), 6)
            rows.append(row)
        write_rows(rows, ctx.run_dir / "predictions.csv")
        files.append(ctx.run_dir / "predictions.csv")
        return files
