"""``timeseries_csv``: windows over numeric series (a CSV file, or ``builtin:goog``).

Each example is ``window`` consecutive rows of the input columns → the ``horizon`` rows of
the target columns that follow. Every series is split by time (train, then val, then
test); transforms are checked on, and the scaler fitted on, the training rows only, so
nothing about the future leaks into training. A val/test example's *targets* lie in its
part while its input window may reach back into the part before — as when forecasting
for real. See :mod:`seqforge.data.forecasting.prepare` for what an item holds.

Many series: with ``id_column`` a long-format file (one row per series and time step)
trains one global model across its series, each scaled by its own training rows — an
option here rather than a second dataset because everything else (transforms, windows,
splits, calendar, reading new files) is the same. The
:class:`~seqforge.data.facets.Series` facet carries the columns, transforms and fitted
scalers, so a trained run reads new files with nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import Field, field_validator, model_validator

from ...errors import DataError, nearest
from ...kinds import Shape
from ..base import DataBundle, DataInfo, DatasetSource, Inputs, TensorItems, columns_of, fingerprint
from ..facets import Series as SeriesFacet
from ..forecasting.future import known_rows, n_known, scale_future, split_future_rows
from ..forecasting.params import CsvParams, WindowingParams
from ..forecasting.prepare import (
    calendar_rows,
    fold_origins,
    history_rows,
    make_items,
    refuse_far_outside,
    scaled,
    series_splits,
    transformed,
)
from ..io.builtin_series import GOOG_SOURCE, load_series
from ..io.csv_series import Series, load_series_csv
from ..io.table import Table, as_table, read_header, read_table, resolve_columns
from ..memory import check_fits
from ..splits import split_by_fraction
from ..transforms.calendar import infer_frequency
from ..transforms.scalers import SCALERS, make_scaler
from ..transforms.target import Chain


class TimeseriesParams(WindowingParams, CsvParams):
    source: str = Field("builtin:goog", description="CSV path (relative to the spec; .gz, .bz2, "
                                                    ".xz, .zip read as well) or builtin:goog")
    target: list[str] = Field(default_factory=lambda: ["Open"], description="column(s) to forecast")
    inputs: list[str] | None = Field(None, description="input columns; default: the targets")
    date_column: str | None = Field("auto", description="auto, a column name, or null for none")
    id_column: str | None = Field(None, description="long format: the column naming each "
                                                    "series (one global model across them)")
    future: list[str] = Field(
        default_factory=list, description="known-future covariates: columns whose values for "
        "the predicted rows are known in advance (a planned promotion, a holiday flag); to "
        "forecast past a file's end, it goes on for horizon rows with only these filled in")

    @field_validator("target", "inputs", "future", mode="before")
    @classmethod
    def _listify(cls, v):
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _future_not_target(self):
        clash = [c for c in self.future if c.lower() in {t.lower() for t in self.target}]
        if clash:
            raise ValueError(f"data.future names the target column(s) {clash}: a target's "
                             "future values are what is forecast, not known in advance")
        if len({c.lower() for c in self.future}) != len(self.future):
            raise ValueError(f"a data.future column is listed twice: {self.future}")
        return self


class TimeseriesCSV(DatasetSource):
    """Windows over numeric CSV series (Google prices built in); long format with id_column."""

    Params = TimeseriesParams
    provides = Shape.SEQUENCE
    facets = (SeriesFacet,)

    # -- reading -----------------------------------------------------------------------
    def _wanted(self) -> list[str]:
        p = self.params
        cols = list(p.inputs or p.target)
        cols += [c for c in p.target if c.lower() not in {x.lower() for x in cols}]
        have = {x.lower() for x in cols}
        return cols + [c for c in getattr(p, "future", []) if c.lower() not in have]

    def _series(self) -> Series:
        """Only the columns the spec names are read (other columns may hold text)."""
        p = self.params
        src = p.source if p.source.startswith("builtin:") else str(self.resolve_path(p.source))
        if not src.startswith("builtin:"):  # a misspelt column names its key, not data.source
            header = _at("data.source", read_header, Path(src), self._csv_options())
            for key, cols in (("data.target", p.target), ("data.inputs", p.inputs or []),
                              ("data.future", getattr(p, "future", []))):
                _at(key, resolve_columns, cols, header, src)
        return load_series(src, None if src.startswith("builtin:") else self._wanted(),
                           date_column=p.date_column, id_column=getattr(p, "id_column", None),
                           options=self._csv_options())

    def _csv_options(self):
        return self.params.csv_options() if hasattr(self.params, "csv_options") else None

    def _columns(self, series: Series) -> tuple[list[str], list[str], list[str], list[str]]:
        """(columns, inputs, targets, future) as the file spells them; inputs first, then
        the targets that are not inputs, then the future columns that are neither — the
        order of the scaler's columns."""
        p = self.params
        inputs = p.inputs or p.target
        in_idx = _at("data.inputs" if p.inputs else "data.target",
                     resolve_columns, inputs, series.columns, series.source)
        tgt_idx = _at("data.target", resolve_columns, p.target, series.columns, series.source)
        fut_idx = _at("data.future", resolve_columns, getattr(p, "future", []), series.columns,
                      series.source)
        order = in_idx + [k for k in tgt_idx if k not in in_idx]
        order += [k for k in fut_idx if k not in order]
        name = series.columns.__getitem__
        return ([name(k) for k in order], [name(k) for k in in_idx], [name(k) for k in tgt_idx],
                [name(k) for k in fut_idx])

    def _facet(self, series: Series, columns, inputs, targets, future) -> SeriesFacet:
        p = self.params
        if self.saved is not None:  # a trained run keeps its own fitted state
            old = self.saved.facet(SeriesFacet)
            return old.model_copy(update={"dates": series.dates, "loaded": None})
        groups = _groups(series, getattr(p, "id_column", None))
        freq, season = infer_frequency(series.dates[groups[0][1]] if series.dates is not None
                                       else None)
        season = season if p.season == "auto" else p.season
        lag = Chain(p.transform).lag
        return SeriesFacet(
            window=p.window, horizon=p.horizon, columns=columns, inputs=inputs, targets=targets,
            scaler=make_scaler(p.scaler), dates=series.dates,
            transforms=[t.model_dump() for t in p.transform], window_norm=p.window_norm,
            residual=p.residual_targets(), history=history_rows(p.window, lag, season), season=season,
            freq=freq, calendar=list(p.calendar), future=future,
            id_column=getattr(p, "id_column", None),
            units=self._units(series, columns),
            series_ids=[g[0] for g in groups] if getattr(p, "id_column", None) else [])

    def _units(self, series: Series, columns: list[str]) -> dict[str, str]:
        """The spec's ``units`` (matched to the file's column names); the built-in GOOG
        prices are in dollars."""
        given = dict(getattr(self.params, "units", {}) or {})
        if series.source == GOOG_SOURCE:
            given = {c: "$" for c in columns if c != "Volume"} | given
        lower = {k.lower(): v for k, v in given.items()}
        return {c: lower[c.lower()] for c in columns if c.lower() in lower}

    # -- the bundle --------------------------------------------------------------------
    def load(self) -> DataBundle:
        p = self.params
        series = _at("data.source", self._series)
        columns, inputs, targets, future = self._columns(series)
        values = series.values[:, resolve_columns(columns, series.columns, series.source)]  # (N, C)
        facet = self._facet(series, columns, inputs, targets, future)
        n = len(series)  # every row starts one example: (window × inputs + horizon × targets)
        check_fits(4.0 * n * (p.window * len(inputs) + 2 * p.horizon * len(targets)),
                   f"{n:,} windows of {p.window} rows", "data.window", series.source)
        fitting = self.saved is None
        splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
        loaded = []
        for name, rows in _groups(series, facet.id_column):
            sid = self._sid(facet, name, series.source)
            raw = values[rows]
            dates = series.dates[rows] if series.dates is not None else None
            where = f"series {name!r} of {series.source}" if facet.id_column else series.source
            parts = self._parts(facet, len(raw), where)
            got = _at("data.transform", series_splits, facet, raw, parts, columns=columns,
                      sid=sid, dates=dates, fit=p.scaler if fitting else None, source=where)
            for split, cols in got.items():
                if cols is not None:
                    splits[split].append(cols)
            loaded.append({"id": name, "dates": dates, "values": raw[:, facet.target_idx]})
        facet.loaded = loaded
        info = DataInfo(input=Shape.SEQUENCE, n_features=len(inputs) + n_known(facet),
                        n_targets=len(targets)).with_facets(facet)
        out = {k: TensorItems(**_concat(v)) if v else None for k, v in splits.items()}
        return DataBundle(out["train"], out["val"], out["test"], info, source=series.source,
                          fingerprint=fingerprint(values, p.model_dump_json()))

    def _sid(self, facet: SeriesFacet, name: str, source: str) -> int:
        if not facet.id_column:
            return 0
        if name in facet.series_ids:
            return facet.series_ids.index(name)
        guess = nearest(name, facet.series_ids)
        raise DataError(f"series {name!r} (column {facet.id_column!r}) was not in the training "
                        "data, so it has no fitted scaler" + (f" — did you mean {guess!r}?"
                                                              if guess else ""), source=source)

    def _parts(self, facet: SeriesFacet, n: int, where: str) -> dict[str, tuple[int, int]]:
        """First-target rows [lo, hi) of each split (fold-aware for backtests)."""
        p = self.params
        H, Hz = facet.history, facet.horizon
        if n < H + Hz + 2:
            extra = f" (+ {H - p.window} rows for data.transform/season)" if H > p.window else ""
            raise DataError(f"window {p.window} + horizon {Hz}{extra} needs at least {H + Hz} "
                            f"rows but {where} has {n} — lower data.window", source=where,
                            path="data.window")
        sl = split_by_fraction(n, p.val, p.test, source=where)
        out = {}
        for name, s in zip(("train", "val", "test"), sl):
            lo, hi = max(s.start, H), s.stop - Hz + 1
            if s.stop > s.start and hi <= lo:
                raise DataError(
                    f"the {name} part of {where} ({s.stop - s.start} rows) is too short "
                    f"for window {p.window} + horizon {Hz} — lower data.window or "
                    "data.horizon, or give it a larger fraction", source=where, path="data.window")
            out[name] = (lo, max(lo, hi))
        fold = getattr(p, "fold", None)
        if fold:
            block = fold_origins(np.arange(*out["test"]), fold[1], where)[fold[0]]
            start = int(block[0])
            tr, va, _ = split_by_fraction(start, p.val, 0, source=where)
            out = {"train": (H, max(H, tr.stop - Hz + 1)),
                   "val": (max(va.start, H), max(va.start, H, va.stop - Hz + 1)),
                   "test": (start, int(block[-1]) + 1)}
        return out

    # -- what the contract kit asks of a dataset -------------------------------------------
    def example_keys(self, bundle: DataBundle, split: str) -> set[tuple[int, int]]:
        """(series, row) pairs a split's targets lie on. A val/test window's *inputs* reach
        back into the part before it (a forecast is made from the past), but no target row
        is in two splits."""
        ds = bundle.split(split)
        horizon = bundle.info.facet(SeriesFacet).horizon
        cols = columns_of(ds, "t", "sid")
        return {(int(s), int(t) + h) for t, s in zip(cols["t"].tolist(), cols["sid"].tolist())
                for h in range(horizon)}

    def example_inputs(self, bundle: DataBundle) -> Table:
        """The series' last rows, raw, as a user's file of recent values would hold them:
        the date column (when the series has dates), the id column and the columns the
        model reads."""
        facet = bundle.info.facet(SeriesFacet)
        series = _at("data.source", self._series)
        n = min(len(series), facet.history + facet.horizon + 3)
        table: dict[str, list] = {}
        if series.dates is not None and self.params.date_column is not None:
            name = "Date" if self.params.date_column == "auto" else self.params.date_column
            table[name] = [str(d) for d in series.dates[-n:]]
        if facet.id_column and series.ids is not None:
            table[facet.id_column] = [str(i) for i in series.ids[-n:]]
        # with future columns the last horizon rows are "ahead": only those columns known
        ahead = facet.horizon if facet.future else 0
        for c in facet.columns:
            col = series.values[-n:, series.index(c)].tolist()
            table[c] = col if c in facet.future or not ahead else col[:-ahead] + [""] * ahead
        return as_table(table, source=f"the last {n} rows of {series.source}")

    # -- new data ----------------------------------------------------------------------
    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """Windows of a user's table (a file or one in memory), per series.

        Prediction (``targets=False``): every full window → one forecast of the rows that
        follow it, the last window included; the columns the model reads are required
        (others may be absent or hold text). Scoring (``targets=True``): every window
        whose ``horizon`` following rows are in the table, with its true ``y``."""
        facet = info.facet(SeriesFacet, needed_by="dataset 'timeseries_csv'")
        table = inputs if isinstance(inputs, Table) else None
        header = table.header if table is not None else read_header(Path(inputs),
                                                                     self._csv_options())
        lower = {h.lower() for h in header}
        has_targets = all(c.lower() in lower for c in facet.targets)
        if not has_targets and (targets or facet.transforms or facet.window_norm != "none"
                                or facet.residual):
            missing = [c for c in facet.targets if c.lower() not in lower]
            raise DataError(f"needs the target column(s) {', '.join(map(repr, missing))} as well "
                            "(the model's transforms restore forecasts from their last values)",
                            source=str(getattr(inputs, "source", inputs)))
        columns = facet.columns if has_targets else list(dict.fromkeys(facet.inputs + facet.future))
        date_col = self.params.date_column
        source: Table | Path = table if table is not None else Path(inputs)
        ahead: dict[str, np.ndarray] = {}
        if facet.future:  # the rows past the end that hold only the future columns
            source, future_part = split_future_rows(
                source if isinstance(source, Table) else read_table(source, self._csv_options()),
                facet)
            if future_part is not None:
                fs = load_series_csv(future_part, columns=facet.future, date_column=date_col,
                                     id_column=facet.id_column, options=self._csv_options())
                ahead = {name: fs.values[rows] for name, rows in _groups(fs, facet.id_column)}
        series = load_series_csv(source, columns=columns, date_column=date_col,
                                 id_column=facet.id_column, options=self._csv_options())
        values = series.values
        W, Hz, H = facet.window, facet.horizon, facet.history
        need = H + Hz if targets else H
        items: list[dict[str, Any]] = []
        for name, rows in _groups(series, facet.id_column):
            sid = self._sid(facet, name, series.source)
            raw = values[rows]
            where = f"series {name!r} of {series.source}" if facet.id_column else series.source
            if len(raw) < need:
                raise DataError(f"needs at least {need} rows (the model's window {W}"
                                + (f" + horizon {Hz}" if targets else "")
                                + (f" + {H - W} rows for its transforms" if H > W else "")
                                + f") but has {len(raw)}", source=where)
            dates = series.dates[rows] if series.dates is not None else None
            z = transformed(facet, raw, columns, where)
            zs = scaled(facet, z, sid, columns, series.source)
            refuse_far_outside(zs, raw, columns, where)
            more = ahead.get(name)
            cal = known_rows(facet, calendar_rows(facet, dates, len(raw)), zs, columns,
                             ahead=None if more is None else scale_future(facet, more, sid),
                             where=where, need_ahead=not targets)
            origins = np.arange(H, len(raw) - Hz + 1 if targets else len(raw) + 1)
            cols = make_items(facet, raw, zs, origins, columns=columns, sid=sid, cal=cal,
                              targets=targets)
            for i, t in enumerate(origins):
                item = {k: v[i] for k, v in cols.items()}
                if dates is not None:
                    item["after"] = str(dates[t - 1])
                if facet.id_column:
                    item["series"] = name
                items.append(item)
        return items


def _groups(series: Series, id_column: str | None) -> list[tuple[str, np.ndarray]]:
    """(series id, row positions) per series; one unnamed group without ids."""
    if series.ids is None or not id_column:
        return [("", np.arange(len(series)))]
    names, first, codes = np.unique(series.ids, return_index=True, return_inverse=True)
    out = [(str(names[k]), np.flatnonzero(codes == k)) for k in np.argsort(first)]
    if len(out) > 1 and all(len(rows) == 1 for _, rows in out):
        raise DataError(f"id column {id_column!r} has one row per series ({len(out)} series of "
                        "one row): it looks like a row label, not a series id — name the column "
                        "that repeats for each series' rows", source=series.source,
                        path="data.id_column")
    return out


def _concat(parts: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def _at(path: str, fn, *args, **kwargs):
    """Call fn; a DataError it raises is tagged with the spec key that caused it."""
    try:
        return fn(*args, **kwargs)
    except DataError as err:
        err.path = err.path or path
        raise


__all__ = ["TimeseriesCSV", "TimeseriesParams", "SCALERS", "as_table"]
