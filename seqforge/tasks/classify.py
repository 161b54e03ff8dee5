"""classify: one label per sequence (sentiment, topic, sequential digits …).

Loss is cross-entropy on the model's (B, K) logits, optionally weighted so rare classes
count as much as common ones. Metrics are accuracy and macro-F1 — the mean of the
per-class F1 scores, so a model that ignores a small class is visibly punished where
accuracy would hardly move. The baseline is the *majority class* of the training split:
a model that does not beat it has learnt nothing from the sequences.

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

from ..errors import SpecError
from .base import ArtifactContext, Metrics, Task, TaskParams


class ClassifyParams(TaskParams):
    class_weights: Literal["none", "balanced"] = Field(
        "none", description="balanced: weight each class by N / (K · n_class) in the loss, "
                            "counted on the training split")


# ----------------------------------------------------------------------------- metrics


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, K) int64 counts: ``cm[i, j]`` = examples of true class i predicted as j."""
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def accuracy_from(cm: np.ndarray) -> float:
    """Share of examples on the diagonal (0 for an empty matrix)."""
    total = cm.sum()
    return float(np.trace(cm) / total) if total else 0.0


def per_class_f1(cm: np.ndarray) -> np.ndarray:
    """(K,) F1 = 2·TP / (2·TP + FP + FN) per class; 0 where the class was never seen nor
    predicted (callers leave those out of averages)."""
    tp = np.diag(cm).astype(np.float64)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def macro_f1_from(cm: np.ndarray) -> float:
    """Unweighted mean F1 over the classes that occur as a true or a predicted label.

    Classes absent from both are left out (as scikit-learn does by default): a test
    split without a rare class should not score that class as a failure.
    """
    present = (cm.sum(axis=0) + cm.sum(axis=1)) > 0
    return float(per_class_f1(cm)[present].mean()) if present.any() else 0.0


def scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict[str, float]:
    cm = confusion_matrix(y_true, y_pred, n_classes)
    return {"accuracy": accuracy_from(cm), "macro_f1": macro_f1_from(cm)}


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
    """(N,) class indices of a split (fast path for the built-in TensorItems)."""
    cols = getattr(ds, "columns", None)
    if isinstance(cols, dict) and isinstance(cols.get("y"), Tensor):
        return cols["y"].cpu().numpy().astype(np.int64)
    return np.array([int(ds[i]["y"]) for i in range(len(ds))], dtype=np.int64)


# ----------------------------------------------------------------------------- the task


class Classify(Task):
    """One label per sequence (accuracy/macro-F1 vs the majority class)."""

    Params = ClassifyParams
    outputs = ("vector",)
    # val_loss, not val_accuracy: on a few hundred validation examples accuracy moves in
    # coarse steps and often ties, so early stopping would count equal epochs as "no
    # improvement" and best.pt would keep the first of many equal epochs; cross-entropy
    # still improves while the model grows surer of right answers, and it is what
    # training minimises. Specs can watch val_accuracy or val_macro_f1 instead.
    monitor = "val_loss"

    def __init__(self, params, bundle):
        super().__init__(params, bundle)
        k = self.info.n_classes
        if not k or k < 2:
            raise SpecError("task 'classify' needs a dataset with two or more class labels "
                            "(e.g. digits, text_csv)", path="task")
        self.n_classes = int(k)
        self.class_names = list(self.info.class_names or [str(i) for i in range(k)])
        self._weight: Tensor | None = None
        if self.params.class_weights == "balanced":
            counts = np.bincount(split_labels(bundle.train), minlength=k).astype(np.float64)
            n = counts.sum()
            # absent classes never appear as a target, so their weight is irrelevant: 1
            w = np.divide(n, k * counts, out=np.ones(k), where=counts > 0)
            self._weight = torch.tensor(w, dtype=torch.float32)

    def output_size(self) -> int:
        return self.n_classes

    def loss(self, out: Tensor, batch: dict[str, Any]) -> Tensor:
        w = self._weight
        if w is not None and w.device != out.device:
            w = self._weight = w.to(out.device)
        return F.cross_entropy(out, batch["y"].long(), weight=w)  # out (B, K), y (B,)

    def new_metrics(self) -> Metrics:
        return ClassifyMetrics(self.n_classes)

    def baseline_name(self) -> str:
        return "majority class"

    def majority_class(self) -> int:
        """The most frequent class of the training split (lowest index on a tie)."""
        return int(np.bincount(split_labels(self.bundle.train), minlength=self.n_classes).argmax())

    def baseline(self, split: str = "test") -> dict[str, float]:
        ds = self.bundle.split(split)
        if ds is None or len(ds) == 0:
            return {}
        y = split_labels(ds)
        return scores(y, np.full_like(y, self.majority_class()), self.n_classes)

    def predict(self, model, batch) -> list[dict[str, Any]]:
        """Rows of (text,) (true_label,) label, probability — the predicted class and the
        model's softmax probability for it."""
        with torch.no_grad():
            out, _ = model(batch)
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
        split = "test" if self.bundle.test is not None else "val"
        loader = self.bundle.loader(split, 256)
        if loader is None:
            return []
        from ..predict_io import write_rows

        model = ctx.model.eval()
        trues, preds, rows = [], [], []
        with torch.no_grad():
            for batch in loader:
                batch = {k: (v.to(ctx.device) if isinstance(v, Tensor) and k != "lengths" else v)
                         for k, v in batch.items()}
                out, _ = model(batch)
                preds.append(out.argmax(-1).cpu().numpy())
                trues.append(batch["y"].cpu().numpy())
                rows.extend(self.predict(model, batch))
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
    from ..plots import _plt, save_figure

    plt = _plt()
    k = len(names)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)  # (K, K)
    size = min(4.0 + 0.45 * k, 16.0)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
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
