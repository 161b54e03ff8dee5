"""Per-column scalers with an exact inverse, saved as plain JSON-able state.

Forecast models train on scaled values; ``inverse_transform`` turns predictions back
into the file's units (dollars, not [0, 1]). It also works on a subset of columns,
because a model that reads Open/High/Low/Close usually predicts only Open:
``scaler.inverse_transform(pred, columns=[0])``.

Every method works on arrays whose *last* axis is the column axis, so windows
``(M, T, C)`` transform without reshaping. ``state_dict()`` holds only lists of floats
and strings: it is written into a run directory and read back with
``torch.load(weights_only=True)`` or ``json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ...errors import DataError, unknown_name_message


class Scaler:
    """Base class: ``fit`` on ``(N, C)`` training rows, then ``transform``/``inverse``."""

    #: key in :data:`SCALERS` and in ``state_dict()["kind"]``
    kind: ClassVar[str] = ""

    def __init__(self) -> None:
        self.n_features: int | None = None

    # subclasses compute their per-column parameters here
    def _fit(self, x: np.ndarray) -> None:  # x: (N, C) float64, finite
        raise NotImplementedError

    def _forward(self, x: np.ndarray, cols: Any) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, x: np.ndarray, cols: Any) -> np.ndarray:
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        raise NotImplementedError

    def _load(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def fit(self, values: np.ndarray) -> Scaler:
        """Learn per-column parameters from ``values`` ``(N, C)``; returns self."""
        x = np.asarray(values, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
            raise DataError(
                f"a scaler is fitted on a non-empty (rows, columns) array, got shape {x.shape}",
                source=f"scaler:{self.kind}",
            )
        if not np.all(np.isfinite(x)):
            raise DataError(
                "cannot fit a scaler on data containing NaN or infinity",
                source=f"scaler:{self.kind}",
            )
        self.n_features = x.shape[1]
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, by column
            self._fit(x)
        bad = sorted({i for v in self._state().values() if isinstance(v, list)
                      for i, p in enumerate(v) if not np.isfinite(p)})
        if bad:  # e.g. 1e308 in a column: finite alone, its spread overflows to inf
            raise DataError(f"column(s) {bad}: values too large to scale with a {self.kind} "
                            "scaler (its parameters overflow) — rescale the data",
                            source=f"scaler:{self.kind}")
        return self

    def fit_transform(self, values: np.ndarray) -> np.ndarray:
        return self.fit(values).transform(values)

    def transform(self, values: np.ndarray, columns: Sequence[int] | None = None) -> np.ndarray:
        """Scale ``values`` ``(..., C)`` (or ``(..., len(columns))``); same shape, float64."""
        x, cols = self._prepare(values, columns)
        return self._forward(x, cols)

    def inverse_transform(
        self, values: np.ndarray, columns: Sequence[int] | None = None
    ) -> np.ndarray:
        """Undo :meth:`transform`. ``columns`` says which fitted columns ``values`` holds."""
        x, cols = self._prepare(values, columns)
        return self._backward(x, cols)

    def state_dict(self) -> dict[str, Any]:
        """``{"kind": ..., "n_features": ..., <per-column lists>}`` — JSON-able."""
        self._require_fit()
        return {"kind": self.kind, "n_features": self.n_features, **self._state()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Scaler:
        """Rebuild a fitted scaler from :meth:`state_dict`.

        Called on :class:`Scaler` itself it picks the class from ``state["kind"]``.
        """
        if not isinstance(state, dict) or "kind" not in state:
            raise DataError("scaler state must be a dict with a 'kind' key", source="scaler")
        kind = state["kind"]
        target = cls if cls is not Scaler else SCALERS.get(kind)
        if target is None:
            raise DataError(unknown_name_message("scaler", kind, SCALERS), source="scaler")
        if target.kind != kind:
            raise DataError(
                f"state is for a {kind!r} scaler, not {target.kind!r}", source="scaler"
            )
        scaler = target.__new__(target)
        Scaler.__init__(scaler)
        try:
            scaler.n_features = int(state["n_features"])
            scaler._load(state)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                f"{kind} scaler state is incomplete or malformed ({exc!r})", source="scaler"
            ) from None
        return scaler

    # ------------------------------------------------------------------ helpers

    def _require_fit(self) -> None:
        if self.n_features is None:
            raise RuntimeError(f"{type(self).__name__} is used before fit()")

    def _prepare(self, values: np.ndarray, columns: Sequence[int] | None) -> tuple[np.ndarray, Any]:
        self._require_fit()
        assert self.n_features is not None
        x = np.asarray(values, dtype=np.float64)
        if columns is None:
            cols: Any = slice(None)
            width = self.n_features
        else:
            cols = [int(c) for c in columns]
            bad = [c for c in cols if not -self.n_features <= c < self.n_features]
            if bad:
                raise DataError(
                    f"column {bad[0]} is out of range for a scaler fitted on "
                    f"{self.n_features} columns",
                    source=f"scaler:{self.kind}",
                )
            width = len(cols)
        # (N,) with a single column is accepted: broadcasting gives the same result
        if x.ndim == 0 or (x.shape[-1] != width and not (x.ndim == 1 and width == 1)):
            raise DataError(
                f"expected {width} columns in the last axis, got shape {x.shape}",
                source=f"scaler:{self.kind}",
            )
        return x, cols


def _safe_range(span: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    # A constant column has no spread; a spread lost in the rounding of the values
    # themselves (or subnormal) is no real spread either, and dividing by it overflows.
    # Unit spread keeps such columns finite and still exactly invertible.
    eps = np.finfo(np.float64).eps
    tiny = (span <= 10 * eps * magnitude) | (span < np.finfo(np.float64).tiny)
    return np.where(tiny, 1.0, span)


class MinMaxScaler(Scaler):
    """Map each column's training min..max onto ``feature_range`` (default [0, 1])."""

    kind = "minmax"

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        super().__init__()
        lo, hi = (float(v) for v in feature_range)
        if not lo < hi:
            raise DataError(
                f"feature_range must be (low, high) with low < high, got {feature_range}",
                source="scaler:minmax",
            )
        self.feature_range = (lo, hi)
        self.data_min: np.ndarray | None = None  # (C,)
        self.data_max: np.ndarray | None = None  # (C,)

    def _fit(self, x: np.ndarray) -> None:
        self.data_min = x.min(axis=0)
        self.data_max = x.max(axis=0)

    def _scale(self, cols: Any) -> tuple[np.ndarray, np.ndarray]:
        assert self.data_min is not None and self.data_max is not None
        lo, hi = self.feature_range
        magnitude = np.maximum(np.abs(self.data_min), np.abs(self.data_max))  # (C,)
        scale = (hi - lo) / _safe_range(self.data_max - self.data_min, magnitude)  # (C,)
        return scale[cols], self.data_min[cols]

    def _forward(self, x: np.ndarray, cols: Any) -> np.ndarray:
        scale, dmin = self._scale(cols)
        return (x - dmin) * scale + self.feature_range[0]

    def _backward(self, x: np.ndarray, cols: Any) -> np.ndarray:
        scale, dmin = self._scale(cols)
        return (x - self.feature_range[0]) / scale + dmin

    def _state(self) -> dict[str, Any]:
        assert self.data_min is not None and self.data_max is not None
        return {
            "feature_range": list(self.feature_range),
            "data_min": self.data_min.tolist(),
            "data_max": self.data_max.tolist(),
        }

    def _load(self, state: dict[str, Any]) -> None:
        lo, hi = (float(v) for v in state["feature_range"])
        self.feature_range = (lo, hi)
        self.data_min = np.asarray(state["data_min"], dtype=np.float64)
        self.data_max = np.asarray(state["data_max"], dtype=np.float64)
        _check_len(self, self.data_min, self.data_max)


class StandardScaler(Scaler):
    """Subtract each column's training mean and divide by its (population) std."""

    kind = "standard"

    def __init__(self) -> None:
        super().__init__()
        self.mean: np.ndarray | None = None  # (C,)
        self.std: np.ndarray | None = None  # (C,), never 0

    def _fit(self, x: np.ndarray) -> None:
        self.mean = x.mean(axis=0)
        self.std = _safe_range(x.std(axis=0), np.abs(self.mean))

    def _forward(self, x: np.ndarray, cols: Any) -> np.ndarray:
        assert self.mean is not None and self.std is not None
        return (x - self.mean[cols]) / self.std[cols]

    def _backward(self, x: np.ndarray, cols: Any) -> np.ndarray:
        assert self.mean is not None and self.std is not None
        return x * self.std[cols] + self.mean[cols]

    def _state(self) -> dict[str, Any]:
        assert self.mean is not None and self.std is not None
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    def _load(self, state: dict[str, Any]) -> None:
        self.mean = np.asarray(state["mean"], dtype=np.float64)
        self.std = np.asarray(state["std"], dtype=np.float64)  # already made safe by fit
        _check_len(self, self.mean, self.std)


class IdentityScaler(Scaler):
    """No scaling (``scaler: none``); still checks shapes so a wrong width is caught."""

    kind = "none"

    def _fit(self, x: np.ndarray) -> None:
        pass

    def _forward(self, x: np.ndarray, cols: Any) -> np.ndarray:
        return x.copy()

    def _backward(self, x: np.ndarray, cols: Any) -> np.ndarray:
        return x.copy()

    def _state(self) -> dict[str, Any]:
        return {}

    def _load(self, state: dict[str, Any]) -> None:
        pass


def _check_len(scaler: Scaler, *arrays: np.ndarray) -> None:
    for a in arrays:
        if a.shape != (scaler.n_features,):
            raise ValueError(f"expected {scaler.n_features} values per column list, got {a.shape}")


#: scaler name in a spec -> class
SCALERS: dict[str, type[Scaler]] = {
    MinMaxScaler.kind: MinMaxScaler,
    StandardScaler.kind: StandardScaler,
    IdentityScaler.kind: IdentityScaler,
}


def make_scaler(name: str) -> Scaler:
    """A new, unfitted scaler by spec name; DataError naming the nearest valid one."""
    if name not in SCALERS:
        raise DataError(unknown_name_message("scaler", name, SCALERS), source="scaler")
    return SCALERS[name]()
