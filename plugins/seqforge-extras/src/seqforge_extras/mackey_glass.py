"""``mackey_glass``: the Mackey–Glass chaotic series, a classic recurrent-network benchmark.

dx/dt = β·x(t−τ) / (1 + x(t−τ)ⁿ) − γ·x(t), with β=0.2, γ=0.1, n=10 and τ=17 (mildly
chaotic — the setting of the echo-state and LSTM forecasting literature). Integrated here
with 4th-order Runge–Kutta at ``dt`` and sampled every ``sample_every`` time units, so the
data comes from this package's own generator: no files, no download.

The dataset reuses seqforge's ``timeseries_csv`` windowing, chronological splits and
train-only scaling; only where the series comes from differs.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from seqforge.data.io.csv_series import Series
from seqforge.data.forecasting.params import WindowingParams
from seqforge.data.sources.timeseries_csv import TimeseriesCSV


def mackey_glass(n: int, *, tau: float = 17.0, beta: float = 0.2, gamma: float = 0.1,
                 power: float = 10.0, dt: float = 0.1, sample_every: float = 1.0,
                 x0: float = 1.2, warmup: int = 500) -> np.ndarray:
    """``n`` samples of the series (after ``warmup`` discarded samples), float64 (n,)."""
    per_sample = int(round(sample_every / dt))
    lag = int(round(tau / dt))
    steps = (n + warmup) * per_sample
    x = np.empty(steps + lag + 1)
    x[: lag + 1] = x0  # constant history before t = 0

    def f(xt: float, xlag: float) -> float:
        return beta * xlag / (1.0 + xlag ** power) - gamma * xt

    for i in range(lag, lag + steps):
        # the delayed term is held over the step: standard for RK4 on delay equations
        xl = x[i - lag]
        k1 = f(x[i], xl)
        k2 = f(x[i] + 0.5 * dt * k1, xl)
        k3 = f(x[i] + 0.5 * dt * k2, xl)
        k4 = f(x[i] + dt * k3, xl)
        x[i + 1] = x[i] + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    samples = x[lag + 1::per_sample]  # (n + warmup,)
    return samples[warmup:warmup + n]


class MackeyGlassParams(WindowingParams):
    """No ``source``: the series is generated. Windowing keys as in ``timeseries_csv``
    (transforms, window_norm, season, … included)."""

    length: int = Field(3000, ge=100, le=1_000_000, description="samples to generate")
    tau: float = Field(17.0, gt=0, le=100, description="delay; ≥ 17 is chaotic")
    window: int = Field(50, ge=1, le=100_000)
    scaler: Literal["minmax", "standard", "none"] = "minmax"

    # what TimeseriesCSV reads of its own params: one generated column, no dates
    @property
    def target(self) -> list[str]:
        return ["x"]

    @property
    def inputs(self) -> None:
        return None

    @property
    def date_column(self) -> None:
        return None


class MackeyGlass(TimeseriesCSV):
    """The Mackey–Glass delay-differential series (generated; τ=17 by default)."""

    Params = MackeyGlassParams

    def _series(self) -> Series:
        p = self.params
        values = mackey_glass(p.length, tau=p.tau)[:, None]  # (N, 1)
        return Series(dates=None, values=values, columns=["x"], source=f"mackey_glass(tau={p.tau})")
