"""Numeric time series from CSV files (or in-memory tables).

A :class:`Series` is what every forecasting dataset starts from: one row per time step,
one float column per named variable, optionally a series id per row (long format). Files
are read as pandas would read them — any common date format (told by ``date_format`` or
inferred, refused when ambiguous), delimiters, ``.gz``/``.bz2``/``.xz``/``.zip``,
encodings, thousands separators and decimal commas (:class:`CsvOptions`) — and only the
columns asked for are parsed, so a text column the model does not read (a ticker) is
no obstacle.

Two readers, one result: with pandas installed a clean file goes through its C parser
(:mod:`.csv_fast`); any file it does not read cleanly, and every file without pandas,
goes through the line-exact reader (:mod:`.table`), which names the file, the line, the
column and the value of the first bad cell in a :class:`~seqforge.errors.DataError` — a
model should never train on a silently half-parsed file.

The built-in series (``builtin:goog``) live in :mod:`seqforge.data.io.builtin_series`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import DataError
from .csv_options import CsvOptions, number
from .dates import SEPARATED, AmbiguousFormat, describe, parse_dates
from .table import MISSING_TEXTS, Table, read_table, resolve_columns

#: header names (compared case-insensitively) that mark the date column in "auto" mode
DATE_COLUMN_NAMES = ("date", "timestamp", "datetime", "datetime_gmt", "datetime_utc", "time",
                     "day", "week", "month", "quarter", "year", "period", "ds")


@dataclass(frozen=True, eq=False)  # eq=False: numpy arrays have no single truth value
class Series:
    """A numeric time series (or several, in long format).

    ``dates`` is ``(N,)`` ``datetime64[D]`` (``[s]`` when two rows share a day), strictly
    increasing within each series, or None when the file has no date column; ``values``
    is ``(N, C)`` float64 with no NaN; ``columns`` names the C value columns in order;
    ``source`` is the file path or ``builtin:<name>``; ``ids`` ``(N,)`` names the series
    of each row (rows grouped by series, in order of first appearance) or is None.
    """

    dates: np.ndarray | None  # (N,) datetime64 or None
    values: np.ndarray  # (N, C) float64
    columns: list[str]
    source: str
    ids: np.ndarray | None = None  # (N,) str

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
    got = parse_dates([text], "ISO8601")
    return None if got.dates is None else got.dates[0].astype("datetime64[D]")


def load_series_csv(path: str | Path | Table, columns: list[str] | None = None,
                    date_column: str | None = "auto", *, id_column: str | None = None,
                    options: CsvOptions | None = None) -> Series:
    """Load numeric columns of a CSV file (or a :class:`Table`) as a :class:`Series`.

    ``columns`` picks value columns (case-insensitive); None takes every column except
    the date (and id) column. ``date_column="auto"`` uses a column named like a date
    (:data:`DATE_COLUMN_NAMES`), else the first column whose every cell is a date with
    separators, else no dates; None means no dates; a name means exactly that column.
    ``id_column`` names the series of each row (long format). Rows are sorted by date
    (within each series) when they are not already in order. Raises DataError naming
    the file, line and column for a missing file or column, a non-numeric or missing
    cell, a date that does not parse (or a format that is ambiguous), or a repeated date.
    """
    options = options or CsvOptions()
    if isinstance(columns, str):  # a bare string would otherwise be read letter by letter
        columns = [columns]
    if not isinstance(path, Table):
        from .csv_fast import read_series_fast

        fast = read_series_fast(Path(path), columns, date_column, id_column, options)
        if fast is not None:
            return fast
        path = read_table(path, options)
    return series_from_table(path, columns, date_column, id_column, options)


def pick_columns(header: list[str], source: str, columns: list[str] | None,
                 date_idx: int | None, id_column: str | None) -> tuple[list[int], int | None]:
    """(value column positions, id column position), checked against the date column."""
    id_idx = resolve_columns([id_column], header, source)[0] if id_column else None
    if id_idx is not None and id_idx == date_idx:
        raise DataError(f"column {header[id_idx]!r} cannot be both the dates and the series ids",
                        source=source)
    if columns is None:
        value_idx = [k for k in range(len(header)) if k not in (date_idx, id_idx)]
        if not value_idx:
            raise DataError("has a date column but no value columns", source=source)
        return value_idx, id_idx
    if not columns:
        raise DataError("no value columns were requested", source=source)
    value_idx = resolve_columns(columns, header, source)
    for k, what in ((date_idx, "holds the dates"), (id_idx, "holds the series ids")):
        if k is not None and k in value_idx:
            raise DataError(f"column {header[k]!r} {what} and cannot also be a value column",
                            source=source)
    return value_idx, id_idx


def named_date_column(header: list[str]) -> int | None:
    for k, name in enumerate(header):
        if name.lower() in DATE_COLUMN_NAMES:
            return k  # named like a date: a bad cell is an error, reported when parsed
    return None


def ambiguous(exc: AmbiguousFormat, column: str, source: str) -> DataError:
    return DataError(f"column {column!r}: {exc} — set data.date_format (e.g. "
                     f"date_format: \"{exc.formats[0]}\")", source=source, path="data.date_format")


def series_from_table(table: Table, columns: list[str] | None, date_column: str | None,
                      id_column: str | None, options: CsvOptions) -> Series:
    source = table.source
    date_idx = _find_date_column(table, date_column, options)
    value_idx, id_idx = pick_columns(table.header, source, columns, date_idx, id_column)
    values = _parse_values(table, value_idx, options)  # (N, C)
    lines = np.asarray(table.lines)  # (N,)
    ids = None
    if id_idx is not None:
        ids = np.asarray([row[id_idx].strip() for row in table.rows], dtype=object)
        empty = np.flatnonzero(ids == "")
        if empty.size:
            raise DataError(f"id column {table.header[id_idx]!r} is empty; every row needs its "
                            "series id", source=source, line=int(lines[empty[0]]))
    dates = None if date_idx is None else _parse_dates(table, date_idx, options)
    order, dup = arrange(dates, ids)
    if dup is not None:
        perm = order if order is not None else np.arange(len(values))
        k = perm[dup]
        first, second = sorted((int(lines[perm[dup - 1]]), int(lines[k])))
        what = f" of series {ids[k]!r}" if ids is not None else ""
        raise DataError(f"date {dates[k]}{what} appears twice (lines {first} and {second}); "
                        "each row must be a different time step", source=source, line=second)
    if order is not None:
        values, dates = values[order], dates[order] if dates is not None else None
        ids = ids[order] if ids is not None else None
    return Series(dates=dates, values=values, columns=[table.header[k] for k in value_idx],
                  source=source, ids=ids)


def arrange(dates: np.ndarray | None, ids: np.ndarray | None
            ) -> tuple[np.ndarray | None, int | None]:
    """(row order grouping series in order of appearance and sorting each by date — or
    None when rows are already so —, position in that order of a repeated date or None)."""
    if ids is not None:
        _, first, codes = np.unique(ids, return_index=True, return_inverse=True)
        codes = np.argsort(np.argsort(first))[codes]  # rank by first appearance
    else:
        codes = np.zeros(len(dates) if dates is not None else 0, dtype=np.int64)
    if dates is None:
        if ids is None:
            return None, None
        order = np.argsort(codes, kind="stable")
        return (None if np.all(order == np.arange(len(order))) else order), None
    key = dates.astype("datetime64[s]").astype(np.int64)
    order = np.lexsort((key, codes))  # stable: file order of ties
    same = np.flatnonzero((codes[order][1:] == codes[order][:-1])
                          & (key[order][1:] == key[order][:-1]))
    dup = int(same[0]) + 1 if same.size else None
    return (None if np.all(order == np.arange(len(order))) else order), dup


def _find_date_column(table: Table, date_column: str | None, options: CsvOptions) -> int | None:
    if date_column is None:
        return None
    if date_column != "auto":
        k = resolve_columns([date_column], table.header, table.source)[0]
        return k
    k = named_date_column(table.header)
    if k is not None:
        return k
    for k in range(len(table.header)):
        texts = [row[k] for row in table.rows[:200]]
        try:
            got = parse_dates(texts, options.date_format, candidates=SEPARATED)
        except AmbiguousFormat:
            return k  # dates, in a format the full parse will ask about
        if got.dates is not None:
            return k
    return None


def _parse_dates(table: Table, k: int, options: CsvOptions) -> np.ndarray:
    texts = [row[k] for row in table.rows]
    name = table.header[k]
    try:
        got = parse_dates(texts, options.date_format)
    except AmbiguousFormat as exc:
        raise ambiguous(exc, name, table.source) from None
    if got.bad is not None and got.matched == 0 and options.date_format is None:
        raise DataError(
            f"column {name!r} holds {texts[got.bad]!r}, which is not a date in any format "
            "seqforge infers (ISO, %d/%m/%Y, %m/%d/%Y, %Y%m%d, 1970 Q1 …); set "
            "data.date_format (a strptime format), or data.date_column: null to load "
            "without dates", source=table.source, line=table.lines[got.bad])
    if got.bad is not None:
        told = options.date_format is not None
        raise DataError(
            f"column {name!r} holds {texts[got.bad]!r}, which is not a date in "
            f"{'the format data.date_format gives' if told else 'the format of its other rows'}"
            f" ({describe(got.format)}); fix the cell, set data.date_format, or set "
            "data.date_column: null to load without dates",
            source=table.source, line=table.lines[got.bad])
    return got.dates


def _parse_values(table: Table, value_idx: list[int], options: CsvOptions) -> np.ndarray:
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
                value = number(text, options)
            except ValueError:
                hint = (" (it looks like a number with thousands separators: set "
                        "data.thousands)" if any(ch in text for ch in ",.' ") else "")
                raise DataError(
                    f"column {name!r} holds {row[k]!r}, which is not a number{hint}; the model "
                    "reads the columns named by data.target and data.inputs — other columns "
                    "are not read",
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
        ids=series.ids,
    )
