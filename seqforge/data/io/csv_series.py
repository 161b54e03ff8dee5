"""Numeric time series from CSV files (or in-memory tables).

A :class:`Series` is what every forecasting dataset starts from: one row per day (or
per step when there are no dates), one float column per named variable. Loading checks
everything a user can get wrong in a hand-made CSV and names the file, the line and the
column in a :class:`~seqforge.errors.DataError` — a model should never train on a
silently half-parsed file.

The built-in series (``builtin:goog``) live in :mod:`seqforge.data.io.builtin_series`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import DataError
from .table import MISSING_TEXTS, Table, as_table, resolve_columns

#: header names (compared case-insensitively) that mark the date column in "auto" mode
DATE_COLUMN_NAMES = ("date", "timestamp", "datetime")
@dataclass(frozen=True, eq=False)  # eq=False: numpy arrays have no single truth value
class Series:
    """A numeric time series.

    ``dates`` is ``(N,)`` ``datetime64[D]``, strictly increasing, or None when the file
    has no date column; ``values`` is ``(N, C)`` float64 with no NaN; ``columns`` names
    the C value columns in order; ``source`` is the file path or ``builtin:<name>``.
    """

    dates: np.ndarray | None  # (N,) datetime64[D] or None
    values: np.ndarray  # (N, C) float64
    columns: list[str]
    source: str

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def index(self, name: str) -> int:
        """Position of column ``name`` (case-insensitive) in ``values``; DataError if absent."""
        return resolve_columns([name], self.columns, self.source)[0]

    def column(self, name: str) -> np.ndarray:
        """The ``(N,)`` values of one column, looked up case-insensitively."""
        return self.values[:, self.index(name)]


def parse_iso_date(text: str) -> np.datetime64 | None:
    """``YYYY-MM-DD`` (optionally followed by ``T``/space and a time) as a day, else None."""
    s = text.strip()
    if len(s) < 10:
        return None
    try:
        day = dt.date.fromisoformat(s[:10])
        if len(s) > 10:
            if s[10] not in "T ":
                return None
            dt.datetime.fromisoformat(s)  # validates the time part; the day is what we keep
    except ValueError:
        return None
    return np.datetime64(day, "D")


def load_series_csv(
    path: str | Path | Table,
    columns: list[str] | None = None,
    date_column: str | None = "auto",
) -> Series:
    """Load numeric columns of a CSV file (or a :class:`Table`) as a :class:`Series`.

    ``columns`` picks value columns (case-insensitive); None takes every column except
    the date column. ``date_column="auto"`` uses a column named date/timestamp/datetime,
    else the first column whose every cell is an ISO date, else no dates; None means
    no dates; a name means exactly that column. Rows are sorted by date when they are
    not already in order. Raises DataError naming the file, line and column for a
    missing file or column, a non-numeric or missing cell, or a repeated date.
    """
    table = as_table(path)
    source = table.source

    date_idx = _find_date_column(table, date_column)
    if columns is None:
        value_idx = [k for k in range(len(table.header)) if k != date_idx]
        if not value_idx:
            raise DataError("has a date column but no value columns", source=source)
    else:
        if isinstance(columns, str):  # a bare string would otherwise be read letter by letter
            columns = [columns]
        if not columns:
            raise DataError("no value columns were requested", source=source)
        value_idx = resolve_columns(columns, table.header, source)
        if date_idx is not None and date_idx in value_idx:
            raise DataError(
                f"column {table.header[date_idx]!r} holds the dates and cannot also be a value "
                "column",
                source=source,
            )

    values = _parse_values(table, value_idx)  # (N, C)
    lines = np.asarray(table.lines)  # (N,)
    dates = None
    if date_idx is not None:
        dates = _parse_dates(table, date_idx)  # (N,) datetime64[D]
        if np.any(dates[1:] < dates[:-1]):
            order = np.argsort(dates, kind="stable")  # stable: keeps file order of ties
            dates, values, lines = dates[order], values[order], lines[order]
        same = np.flatnonzero(dates[1:] == dates[:-1])
        if same.size:
            k = int(same[0])
            first, second = sorted((int(lines[k]), int(lines[k + 1])))
            raise DataError(
                f"date {dates[k]} appears twice (lines {first} and {second}); each row must "
                "be a different day",
                source=source, line=second,
            )
    return Series(
        dates=dates,
        values=values,
        columns=[table.header[k] for k in value_idx],
        source=source,
    )


def _find_date_column(table: Table, date_column: str | None) -> int | None:
    if date_column is None:
        return None
    if date_column != "auto":
        k = resolve_columns([date_column], table.header, table.source)[0]
        _parse_dates(table, k)  # raises on the first cell that is not a date
        return k
    for k, name in enumerate(table.header):
        if name.lower() in DATE_COLUMN_NAMES:
            return k  # named like a date: a bad cell is an error, reported when parsed
    for k in range(len(table.header)):
        if all(parse_iso_date(row[k]) is not None for row in table.rows):
            return k
    return None


def _parse_dates(table: Table, k: int) -> np.ndarray:
    out = np.empty(len(table.rows), dtype="datetime64[D]")  # (N,)
    for r, row in enumerate(table.rows):
        day = parse_iso_date(row[k])
        if day is None:
            raise DataError(
                f"column {table.header[k]!r} holds {row[k]!r}, which is not an ISO date "
                "(YYYY-MM-DD); convert the dates, or pass date_column=None to load without dates",
                source=table.source, line=table.lines[r],
            )
        out[r] = day
    return out


def _parse_values(table: Table, value_idx: list[int]) -> np.ndarray:
    out = np.empty((len(table.rows), len(value_idx)), dtype=np.float64)  # (N, C)
    # row-major so the first bad line in the file is the one reported
    for r, row in enumerate(table.rows):
        for c, k in enumerate(value_idx):
            text = row[k].strip()
            name = table.header[k]
            if text.lower() in MISSING_TEXTS:
                shown = "empty" if not text else f"missing ({text!r})"
                raise DataError(
                    f"column {name!r} is {shown}; fill in or drop rows with missing values",
                    source=table.source, line=table.lines[r],
                )
            try:
                value = float(text)
            except ValueError:
                raise DataError(
                    f"column {name!r} holds {row[k]!r}, which is not a number; pick numeric "
                    "columns with columns=[...]",
                    source=table.source, line=table.lines[r],
                ) from None
            if not np.isfinite(value):
                raise DataError(
                    f"column {name!r} holds {row[k]!r}, which is not a finite number",
                    source=table.source, line=table.lines[r],
                )
            out[r, c] = value
    return out


def select(series: Series, columns: list[str]) -> Series:
    """A :class:`Series` with only ``columns`` (case-insensitive, in the order given)."""
    if isinstance(columns, str):
        columns = [columns]
    if not columns:
        raise DataError("no value columns were requested", source=series.source)
    idx = resolve_columns(columns, series.columns, series.source)
    return Series(
        dates=series.dates,
        values=series.values[:, idx],  # (N, len(idx)); fancy indexing copies
        columns=[series.columns[k] for k in idx],
        source=series.source,
    )
