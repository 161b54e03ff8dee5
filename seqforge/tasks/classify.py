"""classify: one label per sequence (sentiment, topic, sequential digits …).

Loss is cross-entropy on the model's (B, K) logits, optionally weighted so rare classes
count as much as common ones. Metrics are accuracy and macro-F1 — the mean of the
per-class F1 scores, so a model that ignores a small class is visibly punished where
accuracy would hardly move. Baselines (:mod:`~seqforge.tasks.scoring.class_baselines`):
the *majority class* of the training split always — a model that does not beat it has
learnt nothing from the sequences — and, fitted on the training split, 1-NN Euclidean
and 1-NN DTW for numeric series, a word + char n-gram logistic regression for texts. The
summary's ``baseline`` is the strongest of them by accuracy (``baselines`` lists all).

Metrics are computed here with numpy from a confusion matrix (rows: true class, columns:
predicted), the same matrix the run directory gets as ``confusion_matrix.csv`` / ``.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from ..data.base import columns_of
from ..data.facets import Classes
from ..data.io.rows import write_rows
from ..errors import SpecError
from ..kinds import Shape
from ..plots import figure, save_figure
from .base import ArtifactContext, Batch, Metrics, Task, TaskParams
from .scoring.class_baselines import ClassBaselines
from .scoring.classification import accuracy_from, confusion_matrix, macro_f1_from, scores


class ClassifyParams(TaskParams):
    class_weights: Literal["none", "balanced"] = Field(
        "none", description="balanced: weight each class by N / (K · n_class) in the loss, "
                            "counted on the training split")
    label_smoothing: float = Field(
        0.0, ge=0, lt=1, description="share of each target's probability spread evenly "
                                     "over the classes in the loss (0: plain cross-entropy)")
    baselines: Literal["auto", "majority"] = Field(
        "auto", description="auto: the majority class plus 1-NN Euclidean / DTW (numeric "
                            "series) or n-gram logistic regression (texts); majority: only it")
    dtw_window: float = Field(0.1, gt=0, le=1, description="1-NN DTW: Sakoe-Chiba band as a "
                                                            "share of the series length")


class ClassifyMetrics(Metrics):
    def __init__(self, n_classes: int):
        self.n_classes = n_classes
        self.cm = np.zeros((n_classes, n_classes), dtype=np.int64)

    def update(self, out: Tensor, batch: dict[str, Any]) -> None:
        pred = out.argmax(dim=-1).cpu().numpy()  # (B,)
        self.cm += confusion_matrix(batch["y"].cpu().numpy(), pred, self.n_classes)

    def compute(self) -> dict[str, float]:
        if not self.cm.sum():
            return {}
        return {"accuracy": accuracy_from(self.cm), "macro_f1": macro_f1_from(self.cm)}


def split_labels(ds) -> np.ndarray:
    """(N,) class indices of a split."""
    return np.asarray(columns_of(ds, "y")["y"], dtype=np.int64).reshape(-1)


# ----------------------------------------------------------------------------- the task


class Classify(Task):
    """One label per sequence (accuracy/macro-F1 vs the majority class)."""

    Params = ClassifyParams
    outputs = (Shape.VECTOR,)
    requires = (Classes,)
    # val_loss, not val_accuracy: on a few hundred validation examples accuracy moves in
    # coarse steps and often ties, so early stopping would count equal epochs as "no
    # improvement" and best.pt would keep the first of many equal epochs; cross-entropy
    # still improves while the model grows surer of right answers, and it is what
    # training minimises. Specs can watch val_accuracy or val_macro_f1 instead.
    monitor = "val_loss"
    headline = "accuracy"

    def __init__(self, params, info):
        super().__init__(params, info)
        self.classes = info.facet(Classes, needed_by="task 'classify'")
        k = len(self.classes.names)
        if k < 2:
            raise SpecError("task 'classify' needs a dataset with two or more class labels",
                            path="task")
        self.n_classes = k
        self.class_names = list(self.classes.names)
        self._weight: Tensor | None = None
        if self.params.class_weights == "balanced":
            counts = np.asarray(self.classes.train_counts, dtype=np.float64)
            n = counts.sum()
            # absent classes never appear as a target, so their weight is irrelevant: 1
            w = np.divide(n, k * counts, out=np.ones(k), where=counts > 0)
            self._weight = torch.tensor(w, dtype=torch.float32)
        self.fitted = ClassBaselines(dtw_window=self.params.dtw_window)

    def fit(self, train) -> None:
        """Fit the baselines that apply to the data (kept in :meth:`state_dict`)."""
        if self.params.baselines == "auto":
            self.fitted.fit(train, series=self.info.vocab is None)

    def state_dict(self) -> dict[str, Any]:
        return {"baselines": self.fitted.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.fitted.load_state_dict(state.get("baselines") or {})

    def output_size(self) -> int:
        return self.n_classes

    def loss(self, out: Tensor, batch: dict[str, Any]) -> Tensor:
        w = self._weight
        if w is not None and w.device != out.device:
            w = self._weight = w.to(out.device)
        return F.cross_entropy(out, batch["y"].long(), weight=w,  # out (B, K), y (B,)
                               label_smoothing=self.params.label_smoothing)

    def new_metrics(self, model) -> Metrics:
        return ClassifyMetrics(self.n_classes)

    def baseline_name(self) -> str:
        return "majority class"

    def majority_class(self) -> int:
        """The most frequent class of the training split (lowest index on a tie)."""
        return int(np.argmax(self.classes.train_counts))

    def baseline(self, data) -> dict[str, float]:
        if data is None or len(data) == 0:
            return {}
        y = split_labels(data)
        return scores(y, np.full_like(y, self.majority_class()), self.n_classes)

    def baselines(self, data) -> list[dict[str, Any]]:
        """The majority class and every fitted baseline, scored on ``data``."""
        out = [{"name": self.baseline_name(), **self.baseline(data)}]
        if data is None or len(data) == 0:
            return out
        y = split_labels(data)
        for name, pred in self.fitted.predictions(data).items():
            out.append({"name": name, **scores(y, pred, self.n_classes)})
        return out

    def predict(self, model, batch) -> list[dict[str, Any]]:
        """Rows of (text,) (true_label,) label, probability — the predicted class and the
        model's softmax probability for it."""
        out, _ = model(batch)
        return self.rows(out, batch)

    def rows(self, out: Tensor, batch: Batch) -> list[dict[str, Any]]:
        prob = torch.softmax(out.float(), dim=-1)  # (B, K)
        p, k = prob.max(dim=-1)  # (B,), (B,)
        rows = []
        for i in range(out.shape[0]):
            row: dict[str, Any] = {}
            if "text" in batch:
                row["text"] = batch["text"][i]
            if "y" in batch:
                row["true_label"] = self.class_names[int(batch["y"][i])]
            row["label"] = self.class_names[int(k[i])]
            row["probability"] = round(float(p[i]), 6)
            rows.append(row)
        return rows

    # -- run-directory artifacts -----------------------------------------------------------
    def artifacts(self, ctx: ArtifactContext) -> list[Path]:
        """Confusion matrix (CSV + annotated PNG) and per-example predictions for the test
        split (the validation split when there is no test split)."""
        split, ds = ctx.split()
        if ds is None:
            return []
        trues, preds, rows = [], [], []
        for batch, out in ctx.passes.outputs(ds):
            preds.append(out.argmax(-1).cpu().numpy())
            trues.append(batch["y"].cpu().numpy())
            rows.extend(self.rows(out, batch))
        cm = confusion_matrix(np.concatenate(trues), np.concatenate(preds), self.n_classes)
        csv_path = ctx.run_dir / "confusion_matrix.csv"
        write_rows([{"true \\ predicted": name, **{c: int(v) for c, v in zip(self.class_names, r)}}
                    for name, r in zip(self.class_names, cm)], csv_path)
        write_rows(rows, ctx.run_dir / "predictions.csv")
        png = plot_confusion(cm, self.class_names, ctx.run_dir / "confusion_matrix.png",
                             title=f"{ctx.summary.get('name', '')} — {split} split")
        return [png, csv_path, ctx.run_dir / "predictions.csv"]


def plot_confusion(cm: np.ndarray, names: list[str], path: Path, title: str = "") -> Path:
    """Annotated confusion matrix: counts in the cells, colour = share of the true class
    (so a small class's errors show as strongly as a large one's)."""
    k = len(names)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)  # (K, K)
    size = min(4.0 + 0.45 * k, 16.0)
    fig, ax = figure(figsize=(size + 1.2, size))
    im = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    short = [n if len(n) <= 14 else n[:13] + "…" for n in names]
    slanted = max(map(len, short)) > 2  # digits stay upright; words are tilted to fit
    ax.set_xticks(range(k), short, rotation=45 if slanted else 0,
                  ha="right" if slanted else "center")
    ax.set_yticks(range(k), short)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 30:  # beyond that the numbers no longer fit in the cells
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.5 else "black")
    acc = accuracy_from(cm)
    ax.set_title(f"{title}\naccuracy {acc:.3f}, macro-F1 {macro_f1_from(cm):.3f}, "
                 f"n = {int(cm.sum())}".strip())
    return save_figure(fig, path)
