"""``timeseries_csv``: windows over a numeric series (a CSV file, or ``builtin:goog``).

Each example is ``window`` consecutive rows of the input columns → the ``horizon`` rows of
the target columns that follow. The series is split by time (train, then val, then test);
the scaler is fitted on the training rows only, so nothing about the future leaks into
training. A val/test example's *targets* lie in its part while its input window may
reach back into the part before — as when forecasting for real.

Items: ``x`` (W, I) scaled inputs, ``y`` (Hz·T,) scaled targets (step-major), ``last``
(T,) the last observed targets (the persistence forecast) and ``t`` the row of the first
target. The :class:`~seqforge.data.facets.Series` facet carries the columns and the
fitted scaler, so a trained run reads new files with nothing else.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, field_validator

from ...errors import DataError
from ...kinds import Shape
from ..base import DataBundle, DataInfo, DataParams, DatasetSource, Inputs, TensorItems, fingerprint
from ..base import Table, columns_of
from ..facets import Series as SeriesFacet
from ..io.builtin_series import load_series
from ..io.csv_series import Series, load_series_csv
from ..io.table import as_table, resolve_columns
from ..memory import check_fits
from ..splits import split_by_fraction
from ..transforms.scalers import SCALERS, make_scaler
from ..transforms.windowing import window_spans


#: scaled magnitude beyond which an input is refused: 10⁴ training ranges (or standard
#: deviations) away from the training data is a unit error, not a forecastable level
FAR_OUTSIDE = 1e4


class TimeseriesParams(DataParams):
    source: str = Field("builtin:goog", description="CSV path (relative to the spec) or builtin:goog")
    target: list[str] = Field(default_factory=lambda: ["Open"], description="column(s) to forecast")
    inputs: list[str] | None = Field(None, description="input columns; default: the targets")
    date_column: str | None = Field("auto", description="auto, a column name, or null for none")
    window: int = Field(60, ge=1, le=100_000, description="input steps per example")
    horizon: int = Field(1, ge=1, le=10_000, description="future steps to predict")
    scaler: Literal["minmax", "standard", "none"] = "minmax"
    val: float = Field(0.1, ge=0, lt=1, description="fraction of rows (by time) for validation")
    test: float = Field(0.2, ge=0, lt=1, description="last fraction of rows for testing")

    @field_validator("target", "inputs", mode="before")
    @classmethod
    def _listify(cls, v):
        return [v] if isinstance(v, str) else v


class TimeseriesCSV(DatasetSource):
    """Windows over a numeric CSV series (Google prices built in)."""

    Params = TimeseriesParams
    provides = Shape.SEQUENCE
    facets = (SeriesFacet,)

    def _series(self) -> Series:
        p = self.params
        src = p.source if p.source.startswith("builtin:") else str(self.resolve_path(p.source))
        return load_series(src, None, date_column=p.date_column)

    def _columns(self, series: Series) -> tuple[list[str], list[str], list[str]]:
        """(columns, inputs, targets) as the file spells them; inputs first, then the
        targets that are not inputs — the order of the scaler's columns."""
        p = self.params
        inputs = p.inputs or p.target
        in_idx = _at("data.inputs" if p.inputs else "data.target",
                     resolve_columns, inputs, series.columns, series.source)
        tgt_idx = _at("data.target", resolve_columns, p.target, series.columns, series.source)
        order = in_idx + [k for k in tgt_idx if k not in in_idx]
        name = series.columns.__getitem__
        return [name(k) for k in order], [name(k) for k in in_idx], [name(k) for k in tgt_idx]

    def load(self) -> DataBundle:
        p = self.params
        series = _at("data.source", self._series)
        columns, inputs, targets = self._columns(series)
        values = series.values[:, resolve_columns(columns, series.columns, series.source)]  # (N, C)
        n, need = len(series), p.window + p.horizon
        if n < need + 2:
            raise DataError(f"window {p.window} + horizon {p.horizon} needs at least {need} rows "
                            f"but the series has {n} — lower data.window", source=series.source,
                            path="data.window")
        parts = split_by_fraction(n, p.val, p.test, source=series.source)
        # every row starts one example: (window × inputs + horizon × targets) floats each
        check_fits(4.0 * n * (p.window * len(inputs) + p.horizon * len(targets) + len(targets)),
                   f"{n:,} windows of {p.window} rows", "data.window", series.source)
        if self.saved is not None:  # a trained run keeps its own scaling, whatever it scores
            scaler = self.saved.facet(SeriesFacet).scaler
        else:
            scaler = make_scaler(p.scaler).fit(values[parts[0]])
        facet = SeriesFacet(window=p.window, horizon=p.horizon, columns=columns, inputs=inputs,
                            targets=targets, scaler=scaler, dates=series.dates)
        scaled = _scaled(facet, values, series.source)  # (N, C) float32
        splits = {}
        for name, sl in zip(("train", "val", "test"), parts):
            if sl.stop <= sl.start:
                splits[name] = None
                continue
            first, last = max(sl.start, p.window), sl.stop - p.horizon  # first target rows
            if last < first:
                raise DataError(
                    f"the {name} part of {series.source} ({sl.stop - sl.start} rows) is too short "
                    f"for window {p.window} + horizon {p.horizon} — lower data.window or "
                    "data.horizon, or give it a larger fraction", source=series.source,
                    path="data.window")
            splits[name] = _windows(facet, scaled, np.arange(first, last + 1))
        info = DataInfo(input=Shape.SEQUENCE, n_features=len(inputs),
                        n_targets=len(targets)).with_facets(facet)
        return DataBundle(splits["train"], splits["val"], splits["test"], info,
                          source=series.source,
                          fingerprint=fingerprint(values, p.model_dump_json()))

    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """Windows of the input columns in a user's table (a file or one in memory).

        Prediction (``targets=False``): every full window → one forecast of the rows that
        follow it, the last window included; only the columns the model reads are
        required (others may be absent or hold text). Scoring (``targets=True``): every
        window whose ``horizon`` following rows are in the table, with its true ``y``."""
        facet = info.facet(SeriesFacet, needed_by="dataset 'timeseries_csv'")
        table = as_table(inputs)
        lower = {h.lower() for h in table.header}
        with_targets = targets or all(c.lower() in lower for c in facet.targets)
        columns = facet.columns if with_targets else facet.inputs
        series = load_series_csv(table, columns=columns, date_column=self.params.date_column)
        W, Hz = facet.window, facet.horizon
        need = W + Hz if targets else W
        if len(series) < need:
            raise DataError(f"needs at least {need} rows (the model's window"
                            + (f" + horizon {Hz}" if targets else "") + f") but has {len(series)}",
                            source=series.source)
        scaled = _scaled(facet, series.values, series.source, columns=columns)  # (N, C')
        far = np.abs(scaled).max(axis=0) > FAR_OUTSIDE  # (C',)
        if far.any():  # finite, but no trained model says anything about such values
            name = columns[int(np.argmax(far))]
            raise DataError(f"column {name!r} holds values far outside anything the model was "
                            f"trained on (up to {np.abs(series.values).max():.3g}); its "
                            "forecasts would be meaningless — check the units of the file",
                            source=series.source)
        if targets:
            ds = _windows(facet, scaled, np.arange(W, len(series) - Hz + 1))
            items = [ds[i] for i in range(len(ds))]
        else:
            sel = [columns.index(c) for c in facet.inputs]
            xs = window_spans(scaled, W)[:, :, sel]  # (M, W, I)
            items = [{"x": torch.from_numpy(np.ascontiguousarray(x))} for x in xs]
            if with_targets:
                tsel = [columns.index(c) for c in facet.targets]
                for i, item in enumerate(items):  # the persistence forecast of each window
                    item["last"] = torch.from_numpy(np.ascontiguousarray(scaled[i + W - 1, tsel]))
        if series.dates is not None:
            for i, item in enumerate(items):
                item["after"] = str(series.dates[i + W - 1])
        return items

    # -- for the contract kit ------------------------------------------------------------
    def example_keys(self, bundle: DataBundle, split: str) -> set[int]:
        """The rows a split's targets lie on. A val/test window's *inputs* reach back into
        the part before it (a forecast is made from the past), but no target row is in
        two splits."""
        ds = bundle.split(split)
        horizon = bundle.info.facet(SeriesFacet).horizon
        return {int(t) + h for t in columns_of(ds, "t")["t"].tolist() for h in range(horizon)}

    def example_inputs(self, bundle: DataBundle) -> Table:
        """The series' last rows, raw, as a user's file of recent prices would hold them:
        the date column (when the series has dates) and the columns the model reads."""
        facet = bundle.info.facet(SeriesFacet)
        series = _at("data.source", self._series)
        n = min(len(series), facet.window + facet.horizon + 3)
        table: dict[str, list] = {}
        if series.dates is not None and self.params.date_column is not None:
            name = "Date" if self.params.date_column == "auto" else self.params.date_column
            table[name] = [str(d) for d in series.dates[-n:]]
        for c in facet.columns:
            table[c] = series.values[-n:, series.index(c)].tolist()
        return as_table(table, source=f"the last {n} rows of {series.source}")


def _scaled(facet: SeriesFacet, values: np.ndarray, source: str,
            columns: list[str] | None = None) -> np.ndarray:
    """Scaled values (N, C) as float32; a DataError names columns that overflow."""
    cols = None if columns is None else [facet.columns.index(c) for c in columns]
    with np.errstate(over="ignore", invalid="ignore"):  # reported below, by column
        scaled = facet.scaler.transform(values, columns=cols).astype(np.float32)  # (N, C)
    # the model computes in float32, and its forecasts come back through the inverse
    # scaling: values beyond float32 itself cannot be modelled, whatever the scaler
    bad = ~np.isfinite(scaled).all(axis=0) | (np.abs(values) > np.finfo(np.float32).max).any(0)
    if bad.any():  # e.g. 1e308 in a file: finite as float64, not after scaling/float32
        names = columns or facet.columns
        shown = ", ".join(repr(c) for c, b in zip(names, bad) if b)
        raise DataError(f"column(s) {shown}: values too large to train on (not finite in "
                        f"float32 after scaling) — rescale the data", source=source)
    return scaled


def _windows(facet: SeriesFacet, scaled: np.ndarray, t: np.ndarray) -> TensorItems:
    """Items whose first target row is ``t`` (M,): inputs are rows t-W .. t-1."""
    W, Hz = facet.window, facet.horizon
    spans = window_spans(scaled, W + Hz)  # (N-W-Hz+1, W+Hz, C)
    s = spans[t - W]  # (M, W+Hz, C)
    x = s[:, :W, facet.input_idx]  # (M, W, I)
    y = s[:, W:, facet.target_idx]  # (M, Hz, T)
    last_seen = scaled[t - 1][:, facet.target_idx]  # (M, T): persistence baseline's forecast
    return TensorItems(
        x=torch.from_numpy(np.ascontiguousarray(x)),
        y=torch.from_numpy(np.ascontiguousarray(y.reshape(len(t), -1))),  # (M, Hz·T)
        last=torch.from_numpy(np.ascontiguousarray(last_seen)),
        t=torch.from_numpy(t),
    )


def _at(path: str, fn, *args):
    """Call fn; a DataError it raises is tagged with the spec key that caused it."""
    try:
        return fn(*args)
    except DataError as err:
        err.path = err.path or path
        raise


__all__ = ["TimeseriesCSV", "TimeseriesParams", "SCALERS"]
