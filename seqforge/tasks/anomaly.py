"""anomaly: reconstruction-error anomaly detection with a sequence autoencoder.

Trained with MSE to rebuild windows of *normal* data, the model rebuilds normal windows
well and anomalous ones badly. After training:

1. every validation window (normal data the model never trained on) is reconstructed;
   its squared error per step gives a window error (the mean over the window) and, per
   ``point_rule``, a point score (see :mod:`seqforge.tasks.scoring.anomaly`);
2. the thresholds are the ``threshold_quantile`` quantiles of those normal errors — with
   0.99, about 1 % of normal points would be flagged, the false-alarm rate the user
   chooses in the spec;
3. the searched part of the series is scored the same way and flagged above threshold;
   where labels exist, point-wise precision / recall / F1 and event-level precision /
   recall / F1 (is each labelled anomaly found; is each flagged run a real anomaly —
   :func:`~seqforge.tasks.scoring.anomaly.event_scores`) are reported. Without labels,
   the number and share of flagged points.

The baseline is a rolling-difference detector under the same rule: score
``|x_t - x_{t-1}|`` on the scaled series, threshold at the same quantile of its scores on
the validation points. It needs no training and catches abrupt jumps; it misses what
only looks wrong in context (a flat-line, a shift whose edges are small).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from ..data.sources.anomaly_series import windows_of
from ..errors import SpecError
from .scoring import anomaly as sc
from .base import ArtifactContext, Metrics, Task, TaskParams


class AnomalyParams(TaskParams):
    threshold_quantile: float = Field(
        0.99, gt=0, lt=1, description="quantile of normal validation errors above which a "
        "window / point is flagged (0.99 ≈ 1 % false alarms on normal data)")
    point_rule: sc.PointRule = Field(
        "min_error", description="how point flags follow from windows: min_error, "
        "mean_error, any_window, most_windows (see seqforge/tasks/scoring/anomaly.py)")


@dataclass
class Detection:
    """Scores and flags over a whole series (n points) from windows at ``starts``."""

    starts: np.ndarray  # (M,)
    window_errors: np.ndarray  # (M,) mean squared error of each window
    window_flags: np.ndarray  # (M,) bool
    point_scores: np.ndarray  # (n,) NaN where no window covers (vote rules: the mean error)
    point_flags: np.ndarray  # (n,) bool
    window_threshold: float
    point_threshold: float | None  # None for the vote rules


class AnomalyMetrics(Metrics):
    """Collects per-step errors of the windows it sees; scores the searched points."""

    def __init__(self, task: "Anomaly"):
        self.task = task
        self.starts: list[np.ndarray] = []
        self.errors: list[np.ndarray] = []

    def update(self, out: Tensor, batch: dict[str, Any]) -> None:
        err = ((out.float() - batch["y"].float()) ** 2).mean(-1)  # (B, W)
        self.errors.append(err.detach().cpu().numpy())
        self.starts.append(batch["start"].detach().cpu().numpy())

    def compute(self) -> dict[str, float]:
        if not self.starts:
            return {}
        starts, errors = np.concatenate(self.starts), np.concatenate(self.errors)
        lo, hi = self.task.parts["test"]
        if starts.max() + errors.shape[1] <= lo:
            return {}  # training or validation windows: nothing here is searched
        det = self.task.detect(starts, errors, self.task._model)
        return self.task.score_part(det.point_flags, "test")


class Anomaly(Task):
    """Flag anomalous windows and points by reconstruction error (P/R/F1 vs a
    rolling-difference detector)."""

    Params = AnomalyParams
    # an autoencoder's output: the whole window rebuilt from a code. An aligned
    # (many_to_many) model sees x_t when writing y_t and learns the identity, whose
    # reconstruction error says nothing, so it is not accepted.
    outputs = ("sequence",)
    higher_is_better = Task.higher_is_better | {"event_precision", "event_recall", "event_f1"}

    def __init__(self, params, bundle):
        super().__init__(params, bundle)
        m = self.info.meta
        if not m.get("anomaly"):
            raise SpecError("task 'anomaly' needs a windowed anomaly dataset (anomaly_series)",
                            path="task")
        self.W: int = m["window"]
        self.parts: dict[str, tuple[int, int]] = m["parts"]
        self.scaled: np.ndarray = m["scaled"]  # (N,)
        self.labels: np.ndarray | None = m["labels"]  # (N,) or None
        self.n = len(self.scaled)

    # -- contract --------------------------------------------------------------------------
    def output_size(self) -> int:
        return self.info.n_features

    def loss(self, out: Tensor, batch: dict[str, Any]) -> Tensor:
        return F.mse_loss(out, batch["y"])  # (B, W, F) vs (B, W, F)

    def new_metrics(self) -> Metrics:
        return AnomalyMetrics(self)

    def baseline_name(self) -> str:
        return "rolling difference |x_t - x_t-1|"

    def baseline(self, split: str = "test") -> dict[str, float]:
        flags, _, _ = self.baseline_flags()
        if split != "test":
            return {}  # validation is the baseline's own threshold data: nothing to score
        if self.labels is None:
            return {}  # without labels a flag count is not better or worse than another
        return self.score_part(flags, "test")

    def baseline_flags(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(n,) baseline flags, (n,) scores and the threshold (from validation points)."""
        scores = sc.difference_scores(self.scaled)  # (N,)
        lo, hi = self.parts["val"]
        thr = sc.quantile_threshold(scores[lo + 1:hi], self.params.threshold_quantile)
        return sc.flag(scores, thr), scores, thr

    # -- scoring ---------------------------------------------------------------------------
    @torch.no_grad()
    def step_errors(self, model: torch.nn.Module, x: Tensor, batch_size: int = 512) -> np.ndarray:
        """Squared reconstruction error of every step of windows x (M, W, F): (M, W)."""
        was_training = model.training
        model.eval()  # the engine may call metrics after switching back to train mode
        device = next(model.parameters()).device
        out = []
        try:
            for i in range(0, x.shape[0], batch_size):
                xb = x[i:i + batch_size].to(device)  # (b, W, F)
                # y = x: the target of a reconstruction (encoder_decoder reads its length)
                rec, _ = model({"x": xb, "y": xb})  # (b, W, F)
                out.append(((rec.float() - xb.float()) ** 2).mean(-1).cpu().numpy())  # (b, W)
        finally:
            model.train(was_training)
        return np.concatenate(out) if out else np.zeros((0, x.shape[1]))

    def thresholds(self, model: torch.nn.Module) -> tuple[float, float | None]:
        """(window threshold, point threshold) from the validation windows' errors."""
        val = self.bundle.val
        errs = self.step_errors(model, val.columns["x"])  # (M, W)
        starts = val.columns["start"].numpy()
        q = self.params.threshold_quantile
        w_thr = sc.quantile_threshold(errs.mean(1), q)
        if self.params.point_rule in ("any_window", "most_windows"):
            return w_thr, None
        how = "mean" if self.params.point_rule == "mean_error" else "min"
        lo, hi = self.parts["val"]
        pts = sc.point_scores(starts, errs, self.n, how)[lo:hi]
        return w_thr, sc.quantile_threshold(pts, q)

    def detect(self, starts: np.ndarray, step_errors: np.ndarray, model: torch.nn.Module,
               n: int | None = None, thresholds: tuple[float, float | None] | None = None
               ) -> Detection:
        """Flags for windows at ``starts`` with these per-step errors, over n points."""
        n = self.n if n is None else n
        w_thr, p_thr = thresholds if thresholds is not None else self.thresholds(model)
        w_err = step_errors.mean(1)  # (M,)
        w_flags = w_err > w_thr
        rule = self.params.point_rule
        if rule in ("any_window", "most_windows"):
            p_flags = sc.window_vote(starts, w_flags, self.W, n, rule.split("_")[0])
            p_scores = sc.point_scores(starts, step_errors, n, "mean")
        else:
            p_scores = sc.point_scores(starts, step_errors, n,
                                       "mean" if rule == "mean_error" else "min")
            p_flags = sc.flag(p_scores, p_thr)
        return Detection(starts, w_err, w_flags, p_scores, p_flags, w_thr, p_thr)

    def score_part(self, point_flags: np.ndarray, part: str) -> dict[str, float]:
        lo, hi = self.parts[part]
        labels = None if self.labels is None else self.labels[lo:hi]
        return sc.detection_metrics(point_flags[lo:hi], labels)

    def detect_series(self, model: torch.nn.Module) -> Detection:
        """Every window of the whole series (stride 1) → scores and flags for every point."""
        starts = np.arange(self.n - self.W + 1)
        wins = torch.from_numpy(windows_of(self.scaled[:, None], self.W, starts,
                                           self.info.meta["center"]))  # (N-W+1, W, 1)
        return self.detect(starts, self.step_errors(model, wins), model)

    # -- predictions -----------------------------------------------------------------------
    def predict(self, model, batch) -> list[dict[str, Any]]:
        """A whole series from ``seqforge predict`` → one row per point (score, flag);
        windows (e.g. ``run.predict(run.bundle.test)``) → one row per window."""
        thr = self.thresholds(model)
        x = batch["x"]
        if "series" not in batch:
            errs = self.step_errors(model, x)  # (B, W)
            rows = []
            for i, e in enumerate(errs.mean(1)):
                row: dict[str, Any] = {}
                if "start" in batch:
                    row["start"] = int(batch["start"][i])
                row.update(error=round(float(e), 6), anomaly=int(e > thr[0]))
                rows.append(row)
            return rows
        rows = []
        for i in range(x.shape[0]):
            series = x[i].cpu().numpy()  # (N, F)
            n = series.shape[0]
            starts = np.arange(n - self.W + 1)
            wins = torch.from_numpy(windows_of(series, self.W, starts,
                                               self.info.meta["center"]))  # (n-W+1, W, F)
            det = self.detect(starts, self.step_errors(model, wins), model, n=n, thresholds=thr)
            raw = batch["raw"][i]
            dates = batch["dates"][i] if "dates" in batch else None
            for t in range(n):
                row = {"series": batch["series"][i]}
                row["date" if dates else "t"] = dates[t] if dates else t
                row["value"] = raw[t]
                score = det.point_scores[t]
                row["score"] = round(float(score), 6) if np.isfinite(score) else ""
                row["anomaly"] = int(det.point_flags[t])
                rows.append(row)
        return rows

    # -- artifacts -------------------------------------------------------------------------
    def artifacts(self, ctx: ArtifactContext) -> list:
        """anomalies.png (series, error, flags, labels), anomalies.csv (per point),
        anomaly_windows.csv (per window)."""
        from ..predict_io import write_rows

        det = self.detect_series(ctx.model)
        base_flags, base_scores, base_thr = self.baseline_flags()
        meta = self.info.meta
        values, dates = meta["values"], meta["dates"]
        part_of = np.empty(self.n, dtype=object)
        for name, (lo, hi) in self.parts.items():
            part_of[lo:hi] = name
        rows = []
        for t in range(self.n):
            row: dict[str, Any] = {"date": str(dates[t])} if dates is not None else {"t": t}
            row.update(value=round(float(values[t]), 6), part=part_of[t])
            if self.labels is not None:
                row["label"] = int(self.labels[t])
            s = det.point_scores[t]
            row["score"] = round(float(s), 6) if np.isfinite(s) else ""
            row["anomaly"] = int(det.point_flags[t])
            b = base_scores[t]
            row["baseline_score"] = round(float(b), 6) if np.isfinite(b) else ""
            row["baseline_anomaly"] = int(base_flags[t])
            rows.append(row)
        write_rows(rows, ctx.run_dir / "anomalies.csv")
        wrows = []
        for s, e, f in zip(det.starts, det.window_errors, det.window_flags):
            w = {"start": int(s), "end": int(s) + self.W - 1, "error": round(float(e), 6),
                 "anomaly": int(f)}
            if self.labels is not None:
                w["labelled"] = int(self.labels[s:s + self.W].any())
            wrows.append(w)
        write_rows(wrows, ctx.run_dir / "anomaly_windows.csv")
        ctx.summary["thresholds"] = {"window": det.window_threshold, "point": det.point_threshold,
                                     "baseline_point": base_thr,
                                     "quantile": self.params.threshold_quantile,
                                     "point_rule": self.params.point_rule}
        png = self._plot(ctx, det, base_flags)
        return [png, ctx.run_dir / "anomalies.csv", ctx.run_dir / "anomaly_windows.csv"]

    def _plot(self, ctx: ArtifactContext, det: Detection, base_flags: np.ndarray):
        from ..plots import _plt, save_figure

        meta = self.info.meta
        values = meta["values"]
        t = np.arange(self.n)
        plt = _plt()
        fig, (ax, ax2) = plt.subplots(2, 1, figsize=(13, 6.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
        ax.plot(t, values, color="black", linewidth=0.6, label=meta["value_column"])
        if self.labels is not None:
            for k, (a, b) in enumerate(sc.segments(self.labels)):
                ax.axvspan(a - 0.5, b - 0.5, color="gold", alpha=0.5,
                           label="true anomaly" if k == 0 else None)
        lo = self.parts["val"][0]
        mine = np.flatnonzero(det.point_flags & (t >= lo))
        ax.scatter(mine, values[mine], s=14, color="tab:red", zorder=3, label="flagged (model)")
        theirs = np.flatnonzero(base_flags & (t >= lo))
        ax.scatter(theirs, values[theirs], s=30, facecolors="none", edgecolors="tab:blue",
                   linewidths=0.7, zorder=2, label="flagged (baseline)")
        for name, (a, _) in self.parts.items():
            if name != "train":
                ax.axvline(a, color="gray", linestyle=":", linewidth=1)
                ax.text(a, ax.get_ylim()[1], f" {name} →", va="top", fontsize=8, color="gray")
        ax.set_title(f"{ctx.summary.get('name', '')}: anomalies (trained on the normal "
                     f"prefix; threshold = {self.params.threshold_quantile:g} quantile of "
                     "validation errors)")
        ax.legend(loc="lower left", fontsize=8, ncol=4)
        ax.grid(alpha=0.3)
        score = det.point_scores
        ax2.plot(t, score, color="tab:purple", linewidth=0.7,
                 label=f"point score ({self.params.point_rule})")
        if det.point_threshold is not None:
            ax2.axhline(det.point_threshold, color="tab:red", linestyle="--", linewidth=1,
                        label="threshold")
        ax2.set_yscale("log")
        # min_error scores of well-rebuilt points reach 1e-15: show three decades under
        # the threshold, where the decisions are, not the rounding noise
        ref = det.point_threshold if det.point_threshold is not None else det.window_threshold
        ax2.set_ylim(bottom=ref * 1e-3)
        ax2.set_ylabel("squared reconstruction error")
        ax2.set_xlabel("t")
        ax2.legend(loc="upper left", fontsize=8)
        ax2.grid(alpha=0.3)
        return save_figure(fig, ctx.run_dir / "anomalies.png")
