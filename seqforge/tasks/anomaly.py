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

from ..data.base import TensorItems, columns_of
from ..data.facets import AnomalyWindows
from ..data.io.rows import write_rows
from ..data.transforms.windowing import windows_at
from ..kinds import Shape
from ..plots import figure, save_figure
from .base import ArtifactContext, Batch, Metrics, Task, TaskParams
from .scoring import anomaly as sc
from .scoring.discord import nn_distances, ucr_hit, window_to_points

DISCORD = "nearest-neighbour discord"


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

    def __init__(self, task: Anomaly):
        self.task = task
        self.starts: list[np.ndarray] = []
        self.errors: list[np.ndarray] = []

    def update(self, out: Tensor, batch: dict[str, Any]) -> None:
        self.errors.append(step_errors(out, batch["y"]))  # (B, W)
        self.starts.append(batch["start"].detach().cpu().numpy())

    def compute(self) -> dict[str, float]:
        if not self.starts:
            return {}
        starts, errors = np.concatenate(self.starts), np.concatenate(self.errors)
        if not self.task.searched(starts) or self.task.thresholds is None:
            return {}  # training or validation windows (or not calibrated yet)
        det = self.task.detect(starts, errors)
        return self.task.score_part(det.point_flags, "test", det.point_scores)


class Anomaly(Task):
    """Flag anomalous windows and points by reconstruction error (P/R/F1 vs a
    rolling-difference detector)."""

    Params = AnomalyParams
    # an autoencoder's output: the whole window rebuilt from a code. An aligned
    # (many_to_many) model sees x_t when writing y_t and learns the identity, whose
    # reconstruction error says nothing, so it is not accepted.
    outputs = (Shape.SEQUENCE,)
    requires = (AnomalyWindows,)
    higher_is_better = Task.higher_is_better | {"event_precision", "event_recall", "event_f1",
                                                "ucr_hit"}
    headline = "f1"

    def __init__(self, params, info):
        super().__init__(params, info)
        self.facet = info.facet(AnomalyWindows, needed_by="task 'anomaly'")
        self.W: int = self.facet.window
        # the loaded series (absent when a run directory is loaded for prediction)
        self.parts: dict[str, tuple[int, int]] = dict(self.facet.parts)
        self.scaled: np.ndarray | None = self.facet.scaled  # (N,)
        self.labels: np.ndarray | None = self.facet.labels  # (N,) or None
        self.n = len(self.scaled) if self.scaled is not None else 0
        #: (window threshold, point threshold or None), set by calibrate
        self.thresholds: tuple[float, float | None] | None = None

    # -- contract --------------------------------------------------------------------------
    def output_size(self) -> int:
        return self.info.n_features

    def loss(self, out: Tensor, batch: Batch) -> Tensor:
        return F.mse_loss(out, batch["y"])  # (B, W, F) vs (B, W, F)

    def new_metrics(self, model) -> Metrics:
        return AnomalyMetrics(self)

    def searched(self, starts: np.ndarray) -> bool:
        """Do windows at ``starts`` reach into the searched (test) part of the series?"""
        return "test" in self.parts and bool(len(starts)) and \
            int(starts.max()) + self.W > self.parts["test"][0]

    # -- thresholds from normal validation data --------------------------------------------
    def calibrate(self, outputs) -> None:
        """Thresholds = the ``threshold_quantile`` quantiles of the validation windows'
        errors (window means) and of their point scores."""
        starts, errs = [], []
        for batch, out in outputs:
            errs.append(step_errors(out, batch["y"]))
            starts.append(batch["start"].cpu().numpy())
        if not errs:
            return
        e, s = np.concatenate(errs), np.concatenate(starts)  # (M, W), (M,)
        q = self.params.threshold_quantile
        w_thr = sc.quantile_threshold(e.mean(1), q)
        if self.params.point_rule in ("any_window", "most_windows"):
            self.thresholds = (w_thr, None)
            return
        how = "mean" if self.params.point_rule == "mean_error" else "min"
        lo, hi = int(s.min()), int(s.max()) + self.W
        pts = sc.point_scores(s - lo, e, hi - lo, how)
        self.thresholds = (w_thr, sc.quantile_threshold(pts, q))

    def state_dict(self) -> dict[str, Any]:
        return {"thresholds": list(self.thresholds) if self.thresholds is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        thr = state.get("thresholds")
        self.thresholds = (float(thr[0]), None if thr[1] is None else float(thr[1])) if thr else None

    # -- baseline --------------------------------------------------------------------------
    def baseline_name(self) -> str:
        return "rolling difference |x_t - x_t-1|"

    def baseline(self, data) -> dict[str, float]:
        if self.scaled is None or self.labels is None or data is None or not len(data):
            return {}  # without labels a flag count is not better or worse than another
        if not self.searched(columns_of(data, "start")["start"].numpy()):
            return {}  # validation is the baseline's own threshold data: nothing to score
        flags, scores, _ = self.baseline_flags()
        return self.score_part(flags, "test", scores)

    def baselines(self, data) -> list[dict[str, Any]]:
        """The rolling difference and the nearest-neighbour discord, scored as the model is."""
        out = [{"name": self.baseline_name(), **self.baseline(data)}]
        if len(out[0]) > 1:  # the searched part with labels is at hand
            flags, scores, _ = self.discord_flags()
            out.append({"name": DISCORD, **self.score_part(flags, "test", scores)})
        return out

    def discord_flags(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(n,) flags and point scores of the nearest-neighbour discord (distance of each
        window to the nearest normal *training* window) and its threshold: the same
        quantile of its scores on the validation points."""
        starts = np.arange(self.n - self.W + 1)
        d = nn_distances(self.scaled, self.W, self.parts["train"], starts)  # (M,)
        scores = window_to_points(starts, d, self.W, self.n)  # (n,)
        lo, hi = self.parts["val"]
        inside = np.arange(lo, hi - self.W + 1)  # windows wholly inside val
        thr = sc.quantile_threshold(d[inside], self.params.threshold_quantile)
        return sc.flag(scores, thr), scores, thr

    def baseline_flags(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(n,) baseline flags, (n,) scores and the threshold (from validation points)."""
        scores = sc.difference_scores(self.scaled)  # (N,)
        lo, hi = self.parts["val"]
        thr = sc.quantile_threshold(scores[lo + 1:hi], self.params.threshold_quantile)
        return sc.flag(scores, thr), scores, thr

    # -- scoring ---------------------------------------------------------------------------
    def detect(self, starts: np.ndarray, errors: np.ndarray, n: int | None = None) -> Detection:
        """Flags for windows at ``starts`` with per-step ``errors`` (M, W), over n points."""
        if self.thresholds is None:
            raise RuntimeError("anomaly thresholds are set by calibrate() after training")
        n = self.n if n is None else n
        w_thr, p_thr = self.thresholds
        w_err = errors.mean(1)  # (M,)
        w_flags = w_err > w_thr
        rule = self.params.point_rule
        if rule in ("any_window", "most_windows"):
            p_flags = sc.window_vote(starts, w_flags, self.W, n, rule.split("_")[0])
            p_scores = sc.point_scores(starts, errors, n, "mean")
        else:
            p_scores = sc.point_scores(starts, errors, n,
                                       "mean" if rule == "mean_error" else "min")
            p_flags = sc.flag(p_scores, p_thr)
        return Detection(starts, w_err, w_flags, p_scores, p_flags, w_thr, p_thr)

    def score_part(self, point_flags: np.ndarray, part: str,
                   point_scores: np.ndarray | None = None) -> dict[str, float]:
        """Point and event P/R/F1 of ``part``; with scores, the UCR archive's rule too
        (``ucr_hit``: is the top-scored point inside the labelled region ± its slack)."""
        lo, hi = self.parts[part]
        labels = None if self.labels is None else self.labels[lo:hi]
        out = sc.detection_metrics(point_flags[lo:hi], labels)
        if point_scores is not None and labels is not None:
            hit = ucr_hit(point_scores[lo:hi], labels)
            if hit is not None:
                out["ucr_hit"] = hit
        return out

    def detect_series(self, ctx: ArtifactContext) -> Detection:
        """Every window of the whole series (stride 1) → scores and flags for every point."""
        starts = np.arange(self.n - self.W + 1)
        wins = torch.from_numpy(windows_at(self.scaled[:, None], self.W, starts,
                                           center=self.facet.center))  # (N-W+1, W, 1)
        items = TensorItems(x=wins, y=wins)
        errors = np.concatenate([step_errors(out, b["y"])
                                 for b, out in ctx.passes.outputs(items, batch_size=512)])
        return self.detect(starts, errors)

    # -- predictions -----------------------------------------------------------------------
    def predict(self, model, batch) -> list[dict[str, Any]]:
        """A whole series from ``seqforge predict`` → one row per point (score, flag);
        windows (e.g. ``run.predict(run.bundle.test)``) → one row per window."""
        if self.thresholds is None:
            raise RuntimeError("anomaly thresholds are set by calibrate() after training")
        x = batch["x"]
        if "series" not in batch:
            out, _ = model(batch)
            errs = step_errors(out, batch["y"] if "y" in batch else x)  # (B, W)
            rows = []
            for i, e in enumerate(errs.mean(1)):
                row: dict[str, Any] = {}
                if "start" in batch:
                    row["start"] = int(batch["start"][i])
                row.update(error=round(float(e), 6), anomaly=int(e > self.thresholds[0]))
                rows.append(row)
            return rows
        rows = []
        for i in range(x.shape[0]):
            n = int(batch["lengths"][i]) if "lengths" in batch else x.shape[1]
            wins = x[i, :n].unfold(0, self.W, 1).transpose(1, 2)  # (n-W+1, W, F), on device
            if self.facet.center:
                wins = wins - wins.mean(dim=1, keepdim=True)
            out, _ = model({"x": wins, "y": wins})
            det = self.detect(np.arange(n - self.W + 1), step_errors(out, wins), n=n)
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
        det = self.detect_series(ctx)
        base_flags, base_scores, base_thr = self.baseline_flags()
        values, dates = self.facet.values, self.facet.dates
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
        values = self.facet.values
        t = np.arange(self.n)
        fig, (ax, ax2) = figure(2, 1, figsize=(13, 6.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
        ax.plot(t, values, color="black", linewidth=0.6, label=self.facet.value_column)
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
        ax.set_ylabel(f"{self.facet.value_column} (raw)")
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
        ax2.set_ylabel("squared reconstruction error\n(scaled units²)")
        ax2.set_xlabel("t (step of the series)")
        ax2.legend(loc="upper left", fontsize=8)
        ax2.grid(alpha=0.3)
        return save_figure(fig, ctx.run_dir / "anomalies.png")


def step_errors(out: Tensor, y: Tensor) -> np.ndarray:
    """Squared reconstruction error of every step of windows: (B, W, F) → (B, W)."""
    return ((out.float() - y.float()) ** 2).mean(-1).detach().cpu().numpy()
