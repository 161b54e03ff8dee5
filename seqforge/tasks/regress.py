"""regress: predict numeric targets from a whole sequence (the adding problem …).

One output vector per example, one value per target the dataset names (the
``regression`` facet). Loss is the mean squared error; metrics are MSE, RMSE and MAE in
the targets' own units. The baseline is the *constant* predictor — the mean of each
target over the training split, learnt by :meth:`Regress.fit` and kept in the run — the
best any model can do without reading the inputs. Its MSE is the targets' variance, so
``test_mse / baseline mse`` is the share of the variance the model leaves unexplained.

The run directory gets ``predictions.csv`` (true, predicted and baseline values) and
``regression.png`` (predicted against true, beside the baseline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.base import columns_of
from ..data.facets import Regression
from ..data.io.rows import write_rows
from ..kinds import Shape
from ..plots import figure, save_figure
from .base import ArtifactContext, Batch, Metrics, Task, TaskParams


def errors(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """MSE, RMSE and MAE over every value of (N, K) predictions."""
    err = np.asarray(pred, np.float64) - np.asarray(true, np.float64)
    mse = float(np.mean(err ** 2))
    return {"mse": mse, "rmse": float(np.sqrt(mse)), "mae": float(np.mean(np.abs(err)))}


class RegressMetrics(Metrics):
    def __init__(self):
        self.preds: list[np.ndarray] = []
        self.trues: list[np.ndarray] = []

    def update(self, out: Tensor, batch: Batch) -> None:
        self.preds.append(out.detach().float().cpu().numpy())  # (B, K)
        self.trues.append(batch["y"].detach().float().cpu().numpy())  # (B, K)

    def compute(self) -> dict[str, float]:
        if not self.preds:
            return {}
        return errors(np.concatenate(self.preds), np.concatenate(self.trues))


class Regress(Task):
    """Numeric targets per sequence (MSE/RMSE/MAE vs the training mean)."""

    Params = TaskParams
    outputs = (Shape.VECTOR,)
    requires = (Regression,)
    headline = "mse"

    def __init__(self, params, info):
        super().__init__(params, info)
        self.names = list(info.facet(Regression, needed_by="task 'regress'").targets)
        #: (K,) each target's training mean; zeros until fit()
        self.mean = torch.zeros(len(self.names))

    def fit(self, train) -> None:
        y = columns_of(train, "y")["y"].double()  # (N, K)
        self.mean = y.reshape(len(y), -1).mean(0).float()

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "mean" in state:
            self.mean = torch.as_tensor(state["mean"], dtype=torch.float32).reshape(-1)

    def output_size(self) -> int:
        return len(self.names)

    def loss(self, out: Tensor, batch: Batch) -> Tensor:
        return F.mse_loss(out, batch["y"].to(out.dtype))  # out, y (B, K)

    def new_metrics(self, model) -> Metrics:
        return RegressMetrics()

    def baseline_name(self) -> str:
        return "constant (training mean)"

    def baseline(self, data) -> dict[str, float]:
        if data is None or len(data) == 0:
            return {}
        y = columns_of(data, "y")["y"].numpy()  # (N, K)
        return errors(np.broadcast_to(self.mean.numpy(), y.shape), y)

    def predict(self, model, batch) -> list[dict[str, Any]]:
        out, _ = model(batch)
        return self.rows(out, batch)

    def rows(self, out: Tensor, batch: Batch) -> list[dict[str, Any]]:
        pred = out.detach().float().cpu().numpy()  # (B, K)
        true = batch["y"].float().cpu().numpy() if "y" in batch else None
        rows = []
        for i in range(pred.shape[0]):
            row: dict[str, Any] = {}
            for k, name in enumerate(self.names):
                if true is not None:
                    row[f"{name}_true"] = round(float(true[i, k]), 6)
                row[name] = round(float(pred[i, k]), 6)
            rows.append(row)
        return rows

    def artifacts(self, ctx: ArtifactContext) -> list[Path]:
        """``predictions.csv`` and ``regression.png`` for the test split (else val)."""
        split, ds = ctx.split()
        if ds is None:
            return []
        preds, trues, rows = [], [], []
        for batch, out in ctx.passes.outputs(ds):
            preds.append(out.float().cpu().numpy())
            trues.append(batch["y"].float().cpu().numpy())
            rows.extend(self.rows(out, batch))
        pred, true = np.concatenate(preds), np.concatenate(trues)  # (N, K)
        for row in rows:
            row.update({f"{n}_baseline": round(float(m), 6)
                        for n, m in zip(self.names, self.mean.tolist())})
        csv_path = ctx.run_dir / "predictions.csv"
        write_rows(rows, csv_path)
        fig, ax = figure(figsize=(5.5, 5))
        lo, hi = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, label="perfect")
        ax.scatter(true[:, 0], pred[:, 0], s=6, alpha=0.5, label="model")
        ax.axhline(float(self.mean[0]), color="tab:gray", linestyle="--", linewidth=0.8,
                   label=self.baseline_name())
        model, base = errors(pred, true), errors(np.broadcast_to(self.mean.numpy(), true.shape),
                                                 true)
        ax.set_xlabel(f"true {self.names[0]}")
        ax.set_ylabel(f"predicted {self.names[0]}")
        ax.set_title(f"{ctx.summary.get('name', '')} — {split} split\nMSE {model['mse']:.4g} "
                     f"(baseline {base['mse']:.4g})".strip())
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
        return [save_figure(fig, ctx.run_dir / "regression.png"), csv_path]


__all__ = ["Regress", "errors"]
