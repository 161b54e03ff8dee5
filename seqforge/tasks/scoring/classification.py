"""Classification scores from a confusion matrix (rows: true class, columns: predicted).

Accuracy and macro-F1 — the mean of the per-class F1 scores, so a model that ignores a
small class is visibly punished where accuracy would hardly move.
"""

from __future__ import annotations

import numpy as np


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
