"""Class labels: their order, and checking a label against a trained model's classes."""

from __future__ import annotations

import numpy as np
import torch

from ...errors import DataError


def class_order(labels: list[str]) -> list[str]:
    """Sorted label names; numerically when every label is a whole number ("2" < "10")."""
    names = set(labels)
    try:
        return sorted(names, key=int)
    except ValueError:
        return sorted(names)



def known_label(label: str, classes: list[str], source: str, line: int) -> torch.Tensor:
    """The class index of ``label`` as a 0-d tensor; DataError naming the known classes."""
    if not label:
        raise DataError("the label cell is empty; fill it in or drop the label column (labels "
                        "are optional for prediction)", source=source, line=line)
    if label not in classes:
        shown = ", ".join(repr(c) for c in classes[:50]) + (" …" if len(classes) > 50 else "")
        raise DataError(f"label {label!r} is not one the model was trained on; known labels: "
                        f"{shown}", source=source, line=line)
    return torch.tensor(classes.index(label), dtype=torch.long)



def class_counts(y: np.ndarray, n_classes: int) -> list[int]:
    """How many of the class indices ``y`` (N,) fall in each of ``n_classes`` classes."""
    return [int(c) for c in np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)]
