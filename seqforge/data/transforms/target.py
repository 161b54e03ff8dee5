"""Target transforms with exact inverses: log, differencing, log-returns, percent change.

A forecast model often learns far better on a transformed series than on raw levels: a
price whose test period lies outside its training range is hopeless for a network fed
min-max-scaled levels, and trivial once it sees daily changes. Each transform here maps
rows ``(N, C)`` to ``(N - lag, C)`` (differencing drops the first ``lag`` rows) and
inverts *forecasts*: given a window's last ``lag`` raw rows, ``inverse`` turns transformed
forecasts ``(M, Hz, C)`` back into the series' own units — exactly (up to float rounding),
which the hypothesis tests check on random series.

A chain (``[log, diff]`` = log-returns) inverts from the last transform back to the first,
each step using the history of the level below it, recomputed from the raw rows.
Transforms are stateless: their spec (name, order, lag) is all a run directory needs.

Every function works on arrays whose last two axes are (rows, columns), so a batch of
windows ``(M, L, C)`` transforms without reshaping.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...errors import DataError

TransformName = Literal["log", "diff", "log_return", "pct_change"]


class TransformSpec(BaseModel):
    """One entry of ``data.transform``: a name, or ``{name: diff, order: 2, lag: 12}``."""

    model_config = ConfigDict(extra="forbid")

    name: TransformName
    order: int = Field(1, ge=1, le=3, description="diff only: how many times to difference")
    lag: int = Field(1, ge=1, le=10_000, description="diff only: seasonal lag (12: monthly "
                                                      "data, year over year)")

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _diff_only(self):
        if self.name != "diff" and (self.order != 1 or self.lag != 1):
            raise ValueError(f"order and lag apply to diff only, not to {self.name!r}")
        return self


class Transform:
    """One invertible step: ``forward`` rows, ``inverse`` forecasts given raw history."""

    kind: ClassVar[str] = ""
    #: rows consumed at the start of the series, and raw history rows ``inverse`` needs
    lag: int = 0

    def check(self, v: np.ndarray, columns: list[str], where: str) -> None:
        """Raise DataError where the transform cannot apply (log of a value ≤ 0 …)."""

    def forward(self, v: np.ndarray) -> np.ndarray:  # (..., N, C) -> (..., N - lag, C)
        raise NotImplementedError

    def inverse(self, z: np.ndarray, hist: np.ndarray) -> np.ndarray:
        """(M, Hz, C) transformed forecasts, (M, lag, C) raw rows just before → (M, Hz, C)."""
        raise NotImplementedError


def _first_bad(v: np.ndarray, bad: np.ndarray, columns: list[str], what: str,
               where: str, why: str) -> None:
    if not bad.any():
        return
    row, col = (int(i) for i in np.argwhere(bad)[0])
    raise DataError(f"transform {what} cannot apply: column {columns[col]!r} holds "
                    f"{v[row, col]!r} at {where} row {row + 1} ({why}) — drop that transform "
                    "or use diff", path="data.transform")


class Log(Transform):
    kind = "log"

    def check(self, v, columns, where):
        _first_bad(v, ~(v > 0), columns, "log", where, "log needs values > 0")

    def forward(self, v):
        return np.log(v)

    def inverse(self, z, hist):
        return np.exp(z)


class Diff(Transform):
    """``v[t] - v[t - lag]`` (order 1; order k is k of these in a row)."""

    kind = "diff"

    def __init__(self, lag: int = 1):
        self.lag = lag

    def forward(self, v):
        return v[..., self.lag:, :] - v[..., :-self.lag, :]

    def inverse(self, z, hist):
        m = self.lag
        out = np.empty_like(z, dtype=np.float64)
        buf = np.concatenate([hist[:, -m:], out], axis=1)  # (M, m + Hz, C)
        for h in range(z.shape[1]):  # y[t+h] = y[t+h-m] + z[t+h]
            buf[:, m + h] = buf[:, h] + z[:, h]
        return buf[:, m:]


class PctChange(Transform):
    """``v[t] / v[t-1] - 1`` (needs no zero values; negative ones are fine)."""

    kind = "pct_change"
    lag = 1

    def check(self, v, columns, where):
        _first_bad(v[:-1], v[:-1] == 0, columns, "pct_change", where,
                   "a change relative to 0 is undefined")

    def forward(self, v):
        return v[..., 1:, :] / v[..., :-1, :] - 1.0

    def inverse(self, z, hist):
        return hist[:, -1:] * np.cumprod(1.0 + z, axis=1)


def build_chain(specs: list[TransformSpec] | list[dict]) -> list[Transform]:
    """The steps a spec list names, in order (``log_return`` = log then diff)."""
    steps: list[Transform] = []
    for s in specs:
        s = s if isinstance(s, TransformSpec) else TransformSpec.model_validate(s)
        if s.name == "log":
            steps.append(Log())
        elif s.name == "log_return":
            steps += [Log(), Diff(1)]
        elif s.name == "pct_change":
            steps.append(PctChange())
        else:
            steps += [Diff(s.lag) for _ in range(s.order)]
    return steps


class Chain:
    """A sequence of transforms applied in order and inverted in reverse."""

    def __init__(self, specs: list[TransformSpec] | list[dict] = ()):
        self.steps = build_chain(list(specs))
        #: raw rows lost at the start, and raw history rows ``inverse`` needs
        self.lag = sum(t.lag for t in self.steps)

    def __bool__(self) -> bool:
        return bool(self.steps)

    def check(self, v: np.ndarray, columns: list[str], where: str) -> None:
        """DataError naming the first value a transform cannot take, or a series too short."""
        if len(v) <= self.lag:
            raise DataError(f"data.transform drops {self.lag} rows but {where} has only "
                            f"{len(v)}", path="data.transform")
        for t in self.steps:
            t.check(v, columns, where)
            v = t.forward(v)

    def forward(self, v: np.ndarray) -> np.ndarray:
        """(..., N, C) raw → (..., N - lag, C) transformed."""
        for t in self.steps:
            v = t.forward(v)
        return v

    def inverse(self, z: np.ndarray, hist: np.ndarray) -> np.ndarray:
        """(M, Hz, C) transformed forecasts → raw units, given (M, L ≥ lag, C) raw rows
        that precede the forecast (the forecast origin's history)."""
        if not self.steps:
            return np.asarray(z, dtype=np.float64)
        levels = [np.asarray(hist, dtype=np.float64)]  # the history at every level
        for t in self.steps[:-1]:
            levels.append(t.forward(levels[-1]))
        out = np.asarray(z, dtype=np.float64)
        for t, level in zip(reversed(self.steps), reversed(levels)):
            out = t.inverse(out, level[:, level.shape[1] - t.lag:])
        return out


__all__ = ["TransformSpec", "TransformName", "Transform", "Chain", "build_chain"]
