"""The model-free baselines of ``classify``, fitted on the training split.

* majority class — always (from the training counts the data describes);
* numeric series (``x`` floats, no vocabulary): 1-NN Euclidean and 1-NN DTW
  (:mod:`~seqforge.tasks.scoring.neighbours`);
* texts (items carry ``text``): word + char n-gram logistic regression
  (:mod:`~seqforge.tasks.scoring.ngrams`, when scikit-learn is installed).

What each needs is kept in :meth:`ClassBaselines.state_dict` (saved in every checkpoint),
so a loaded run directory reports them on new data without its training file. 1-NN needs
the training series themselves: they are kept while they hold at most
:data:`MAX_KEPT_VALUES` numbers (8 MB as float32 — every UCR/UEA problem we ship). A larger
training set is not copied into each checkpoint: the 1-NN baselines are then reported
after training (the data is at hand) and left out when a loaded run scores a file.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from .neighbours import dtw_distances, euclidean_distances, nearest_labels, resample
from .ngrams import NgramBaseline

#: training-set size (series × steps × channels) up to which 1-NN keeps it in the run
MAX_KEPT_VALUES = 2_000_000

NN_ED = "1-NN Euclidean"
NN_DTW = "1-NN DTW"


def item_column(ds, key: str) -> list[Any]:
    """One column of an item dataset, item by item (tensors keep their own lengths)."""
    cols = getattr(ds, "columns", None)
    if isinstance(cols, dict) and key in cols:
        col = cols[key]
        return list(col) if isinstance(col, (list, Tensor)) else list(col)
    return [ds[i][key] for i in range(len(ds))]


def _series(ds) -> list[np.ndarray]:
    out = []
    for x in item_column(ds, "x"):
        a = x.detach().cpu().numpy().astype(np.float64)
        out.append(a[:, None] if a.ndim == 1 else a.reshape(a.shape[0], -1))  # (T, C)
    return out


class ClassBaselines:
    """Fits and scores the baselines that apply to the data (see the module docstring)."""

    def __init__(self, *, dtw_window: float = 0.1):
        self.dtw_window = dtw_window
        self.ref: np.ndarray | None = None  # (N, L, C) training series, resampled
        self.ref_y: np.ndarray | None = None
        self.ngrams: NgramBaseline | None = None
        self._pending: tuple[list[str], np.ndarray] | None = None  # texts to fit n-grams on
        self._ref_transient = False

    def fit(self, train, *, series: bool) -> None:
        if train is None or not len(train):
            return
        y = np.asarray([int(v) for v in item_column(train, "y")], dtype=np.int64)
        first = train[0]
        if series and isinstance(first.get("x"), Tensor) and first["x"].is_floating_point():
            xs = _series(train)
            length = max(x.shape[0] for x in xs)
            self.ref = resample(xs, length).astype(np.float32)  # (N, L, C)
            self.ref_y = y
            self._ref_transient = self.ref.size > MAX_KEPT_VALUES
        elif "text" in first and NgramBaseline.available():
            # fitted when first needed (scores, a checkpoint): ``seqforge validate`` builds
            # the task for one trial batch and never waits for a regression it won't use
            self._pending = ([str(t) for t in item_column(train, "text")], y)

    def _fitted_ngrams(self) -> NgramBaseline | None:
        if self._pending is not None:
            texts, y = self._pending
            self.ngrams, self._pending = NgramBaseline().fit(texts, y), None
        return self.ngrams

    def predictions(self, data) -> dict[str, np.ndarray]:
        """{baseline name: (N,) predicted class ids} for the baselines fitted."""
        out: dict[str, np.ndarray] = {}
        if data is None or not len(data):
            return out
        if self.ref is not None:
            q = resample(_series(data), self.ref.shape[1])  # (Nq, L, C)
            ref = self.ref.astype(np.float64)
            if q.shape[2] == ref.shape[2]:
                out[NN_ED] = nearest_labels(euclidean_distances(q, ref), self.ref_y)
                out[NN_DTW] = nearest_labels(dtw_distances(q, ref, self.dtw_window), self.ref_y)
        if self._fitted_ngrams() is not None and "text" in data[0]:
            out[NgramBaseline.name] = self.ngrams.predict(
                [str(t) for t in item_column(data, "text")])
        return out

    # -- saved with the run ----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        if self.ref is not None and not self._ref_transient:
            state["nn"] = {"x": torch.from_numpy(self.ref), "y": torch.from_numpy(self.ref_y)}
        if self._fitted_ngrams() is not None:
            state["ngrams"] = _tensors(self.ngrams.state_dict())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        nn = state.get("nn")
        if nn is not None:
            self.ref = torch.as_tensor(nn["x"]).numpy().astype(np.float32)
            self.ref_y = torch.as_tensor(nn["y"]).numpy().astype(np.int64)
        if state.get("ngrams"):
            self.ngrams = NgramBaseline(_arrays(state["ngrams"]))


def _tensors(obj: Any) -> Any:
    """numpy arrays → tensors, deep (checkpoints load with weights_only: no numpy)."""
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, dict):
        return {k: _tensors(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_tensors(v) for v in obj]
    return obj


def _arrays(obj: Any) -> Any:
    if isinstance(obj, Tensor):
        return obj.cpu().numpy()
    if isinstance(obj, dict):
        return {k: _arrays(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_arrays(v) for v in obj]
    return obj


__all__ = ["ClassBaselines", "MAX_KEPT_VALUES", "NN_ED", "NN_DTW", "item_column"]
