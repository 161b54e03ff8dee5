"""``timeseries_csv``: windows over a numeric series (a CSV file, or ``builtin:goog``).

Each example is ``window`` consecutive rows of the input columns → the ``horizon`` rows of
the target columns that follow. The series is split by time (train, then val, then test);
the scaler is fitted on the training rows only, so nothing about the future leaks into
training. A val/test example's *targets* lie in its part while its input window may
reach back into the part before — as when forecasting for real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field, field_validator

from ...errors import DataError
from ..base import DataBundle, DataInfo, DataParams, DatasetSource, TensorItems, fingerprint
from ..transforms.scalers import SCALERS, Scaler, make_scaler
from ..io.csv_series import Series, load_series, load_series_csv, resolve_columns
from ..splits import split_by_fraction


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
    provides = "sequence"

    def _series(self) -> Series:
        p = self.params
        src = p.source if p.source.startswith("builtin:") else str(self.resolve_path(p.source))
        return load_series(src, None, date_column=p.date_column)

    def load(self) -> DataBundle:
        p = self.params
        series = _at("data.source", self._series)
        inputs = p.inputs or p.target
        in_idx = _at("data.inputs" if p.inputs else "data.target",
                     resolve_columns, inputs, series.columns, series.source)
        tgt_idx = _at("data.target", resolve_columns, p.target, series.columns, series.source)
        n = len(series)
        need = p.window + p.horizon
        if n < need + 2:
            err = DataError(f"window {p.window} + horizon {p.horizon} needs at least {need} rows "
                            f"but the series has {n} — lower data.window", source=series.source)
            err.path = "data.window"
            raise err
        parts = split_by_fraction(n, p.val, p.test, source=series.source)
        saved = (self.saved_transforms or {}).get("scaler")
        # a trained run keeps its own scaling, whatever data it is scored on
        scaler = (Scaler.from_state(saved) if saved else
                  make_scaler(p.scaler).fit(series.values[parts[0]]))
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, by column
            scaled = scaler.transform(series.values).astype(np.float32)  # (N, C)
        bad = ~np.isfinite(scaled).all(axis=0)  # (C,)
        if bad.any():  # e.g. 1e308 in a file: finite as float64, not after scaling/float32
            cols = ", ".join(repr(c) for c, b in zip(series.columns, bad) if b)
            raise DataError(f"column(s) {cols}: values too large to train on (not finite "
                            f"in float32 with scaler: {p.scaler}) — rescale the data",
                            source=series.source)
        splits = {}
        for name, sl in zip(("train", "val", "test"), parts):
            if sl.stop <= sl.start:
                splits[name] = None
                continue
            splits[name] = self._windows(series, scaled, in_idx, tgt_idx, sl, name)
        meta = {
            "columns": list(series.columns), "inputs": [series.columns[i] for i in in_idx],
            "targets": [series.columns[i] for i in tgt_idx], "input_idx": in_idx,
            "target_idx": tgt_idx, "window": p.window, "horizon": p.horizon,
            "scaler": scaler, "source": series.source,
            "dates": series.dates, "test_slice": (parts[2].start, parts[2].stop),
        }
        info = DataInfo(input="sequence", n_features=len(in_idx), n_targets=len(tgt_idx), meta=meta)
        return DataBundle(splits["train"], splits["val"], splits["test"], info,
                          transforms={"scaler": scaler.state_dict()}, source=series.source,
                          fingerprint=fingerprint(series.values, p.model_dump_json()))

    def _windows(self, series: Series, scaled: np.ndarray, in_idx, tgt_idx, sl: slice, part: str):
        p = self.params
        W, Hz = p.window, p.horizon
        # t = index of the first target row; its inputs are rows t-W .. t-1
        first = max(sl.start, W)
        last = sl.stop - Hz  # inclusive
        if last < first:
            raise _with_path("data.window", DataError(
                f"the {part} part of {series.source} ({sl.stop - sl.start} rows) is too short for "
                f"window {W} + horizon {Hz} — lower data.window or data.horizon, or give it a "
                f"larger fraction", source=series.source))
        t = np.arange(first, last + 1)  # (M,)
        spans = sliding_window_view(scaled, W + Hz, axis=0)  # (N-W-Hz+1, C, W+Hz)
        s = spans[t - W]  # (M, C, W+Hz)
        x = s[:, in_idx, :W].transpose(0, 2, 1)  # (M, W, I)
        y = s[:, tgt_idx, W:].transpose(0, 2, 1)  # (M, Hz, T)
        last_seen = scaled[t - 1][:, tgt_idx]  # (M, T): persistence baseline's forecast
        return TensorItems(
            x=torch.from_numpy(np.ascontiguousarray(x)),
            y=torch.from_numpy(np.ascontiguousarray(y.reshape(len(t), -1))),  # (M, Hz·T)
            last=torch.from_numpy(np.ascontiguousarray(last_seen)),
            t=torch.from_numpy(t),
        )

    def read_inputs(self, path: Path, bundle: DataBundle) -> list[dict]:
        """Every full window in a user's CSV (same columns as training) → one forecast each."""
        meta = bundle.info.meta
        series = load_series_csv(path, columns=None, date_column=self.params.date_column)
        cols = resolve_columns(meta["columns"], series.columns, series.source)
        values = series.values[:, cols]
        scaler: Scaler = meta["scaler"]
        scaled = scaler.transform(values).astype(np.float32)
        W = self.params.window
        if len(scaled) < W:
            raise DataError(f"needs at least {W} rows (the model's window) but has {len(scaled)}",
                            source=str(path))
        xs = sliding_window_view(scaled, W, axis=0)  # (M, C, W)
        items = []
        for i in range(xs.shape[0]):
            x = xs[i][meta["input_idx"]].T  # (W, I)
            last = scaled[i + W - 1, meta["target_idx"]]
            item = {"x": torch.from_numpy(np.ascontiguousarray(x)),
                    "last": torch.from_numpy(np.ascontiguousarray(last))}
            if series.dates is not None:
                item["after"] = str(series.dates[i + W - 1])
            items.append(item)
        return items


def _with_path(path: str, err: DataError) -> DataError:
    err.path = err.path or path
    return err


def _at(path: str, fn, *args):
    """Call fn; a DataError it raises is tagged with the spec key that caused it."""
    try:
        return fn(*args)
    except DataError as err:
        raise _with_path(path, err) from None


__all__ = ["TimeseriesCSV", "TimeseriesParams", "SCALERS"]
