"""Numeric time series from CSV files, and the daily Google prices matplotlib ships.

A :class:`Series` is what every forecasting dataset starts from: one row per day (or
per step when there are no dates), one float column per named variable. Loading checks
everything a user can get wrong in a hand-made CSV and names the file, the line and the
column in a :class:`~seqforge.errors.DataError` — a model should never train on a
silently half-parsed file.

The CSV helpers (:func:`read_table`, :func:`resolve_columns`) are shared with
:mod:`seqforge.data.text_csv`.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import DataError, nearest

#: header names (compared case-insensitively) that mark the date column in "auto" mode
DATE_COLUMN_NAMES = ("date", "timestamp", "datetime")
#: cell texts (lower-cased) that spreadsheets and pandas write for a missing value
MISSING_TEXTS = frozenset({"", "nan", "na", "n/a", "null", "none", "#n/a"})

GOOG_SOURCE = "builtin:goog"
# matplotlib's field name -> the capitalised name typical price CSVs use
_GOOG_FIELDS = {
    "open": "Open",
    "high": "High",
    "low": "Low",
    "close": "Close",
    "volume": "Volume",
    "adj_close": "AdjClose",
}


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


# ----------------------------------------------------------------------------- tables


@dataclass(frozen=True, eq=False)
class Table:
    """A CSV file as text: header, data rows, and the file line each row starts on."""

    header: list[str]
    rows: list[list[str]]  # every row has len(header) cells
    lines: list[int]  # 1-based file line of each row, for error messages
    source: str


def read_table(path: str | Path) -> Table:
    """Read a CSV file with a header row, checking its shape.

    Blank lines (and rows of only empty cells, which spreadsheets append) are skipped.
    Raises DataError when the file is missing, unreadable, not UTF-8, empty, has no data
    rows, has duplicate header names, or has a row with a different number of cells.
    """
    p = Path(path)
    source = str(path)
    if not p.exists():
        raise DataError(f"file not found (looked for {p.resolve()})", source=source)
    if p.is_dir():
        raise DataError("is a directory, not a CSV file", source=source)

    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    line = start = 1
    try:
        # utf-8-sig: Excel's "CSV UTF-8" export starts with a byte-order mark that would
        # otherwise stick to the first column name
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            for record in reader:
                line, start = start, reader.line_num + 1  # a quoted cell may span lines
                if not any(cell.strip() for cell in record):
                    continue
                if header is None:
                    header = _check_header(record, source, line)
                    continue
                if len(record) > len(header) and not any(c.strip() for c in record[len(header):]):
                    record = record[: len(header)]  # trailing empty cells from a spreadsheet
                if len(record) != len(header):
                    raise DataError(
                        f"row has {len(record)} cells but the header has {len(header)} "
                        f"columns ({', '.join(header)})",
                        source=source, line=line,
                    )
                rows.append(record)
                lines.append(line)
    except UnicodeDecodeError:
        raise DataError("is not UTF-8 text; save it as UTF-8 CSV", source=source) from None
    except csv.Error as exc:
        raise DataError(f"is not valid CSV: {exc}", source=source, line=start) from None
    except OSError as exc:
        raise DataError(f"cannot be read: {exc.strerror or exc}", source=source) from None

    if header is None:
        raise DataError("file is empty; expected a header row and data rows", source=source)
    if not rows:
        raise DataError("has a header but no data rows", source=source)
    return Table(header=header, rows=rows, lines=lines, source=source)


def _check_header(record: list[str], source: str, line: int) -> list[str]:
    # pandas writes an unnamed index column; give such columns a name users can pass
    header = [name.strip() or f"unnamed_{k + 1}" for k, name in enumerate(record)]
    seen: dict[str, int] = {}
    for k, name in enumerate(header):
        key = name.lower()  # lookups are case-insensitive, so 'open' and 'Open' clash
        if key in seen:
            raise DataError(
                f"the header names column {name!r} twice (columns {seen[key] + 1} and {k + 1})",
                source=source, line=line,
            )
        seen[key] = k
    return header


def resolve_columns(requested: Sequence[str], available: Sequence[str], source: str) -> list[int]:
    """Positions of ``requested`` names in ``available``.

    Exact matches win; otherwise the match is case-insensitive, so ``open`` finds
    ``Open``. An unknown name raises DataError naming the nearest valid column and
    listing all of them; a name requested twice is an error too.
    """
    exact = {name: k for k, name in enumerate(available)}
    folded: dict[str, int] = {}
    for k, name in enumerate(available):
        folded.setdefault(name.lower(), k)
    out: list[int] = []
    for name in requested:
        if not isinstance(name, str):
            raise DataError(f"column names must be text, got {name!r}", source=source)
        k = exact[name] if name in exact else folded.get(name.lower())
        if k is None:
            msg = f"no column {name!r}"
            guess = nearest(name, available)
            if guess is not None:
                msg += f" — did you mean {guess!r}?"
            msg += " Available columns: " + ", ".join(available)
            raise DataError(msg, source=source)
        if k in out:
            raise DataError(f"column {available[k]!r} is requested twice", source=source)
        out.append(k)
    return out


# ----------------------------------------------------------------------------- series


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
    path: str | Path,
    columns: list[str] | None = None,
    date_column: str | None = "auto",
) -> Series:
    """Load numeric columns of a CSV file as a :class:`Series`.

    ``columns`` picks value columns (case-insensitive); None takes every column except
    the date column. ``date_column="auto"`` uses a column named date/timestamp/datetime,
    else the first column whose every cell is an ISO date, else no dates; None means
    no dates; a name means exactly that column. Rows are sorted by date when they are
    not already in order. Raises DataError naming the file, line and column for a
    missing file or column, a non-numeric or missing cell, or a repeated date.
    """
    table = read_table(path)
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


# ----------------------------------------------------------------------------- builtins


def load_goog(columns: list[str] | None = None) -> Series:
    """Daily Google prices, 2004-08-19 to 2008-10-14 (1047 trading days).

    matplotlib ships them as sample data, so they are present wherever seqforge is
    installed and need no download. Columns: Open, High, Low, Close, Volume, AdjClose
    (case-insensitive for :func:`select` and ``columns``).
    """
    try:
        from matplotlib import cbook

        # asfileobj=False returns the path on every matplotlib version; what the default
        # returns for .npz files changed between releases
        path = cbook.get_sample_data("goog.npz", asfileobj=False)
        with np.load(path) as npz:
            data = npz["price_data"]  # structured (N,) array
    except (ImportError, OSError, KeyError, ValueError) as exc:
        raise DataError(
            f"matplotlib's sample data goog.npz could not be read ({exc}); reinstall "
            "matplotlib, or point the spec at a CSV file",
            source=GOOG_SOURCE,
        ) from None
    values = np.stack(
        [data[field].astype(np.float64) for field in _GOOG_FIELDS], axis=1
    )  # (N, 6)
    series = Series(
        dates=data["date"].astype("datetime64[D]"),
        values=values,
        columns=list(_GOOG_FIELDS.values()),
        source=GOOG_SOURCE,
    )
    return series if columns is None else select(series, columns)


#: series shipped with seqforge, addressed as ``builtin:<name>``
BUILTIN_SERIES: dict[str, Callable[[], Series]] = {"goog": load_goog}


def load_series(
    source: str | Path,
    columns: list[str] | None = None,
    base_dir: str | Path | None = None,
    date_column: str | None = "auto",
) -> Series:
    """``builtin:<name>`` or a CSV path (relative paths resolve against ``base_dir``)."""
    text = str(source)
    if text.startswith("builtin:"):
        name = text[len("builtin:"):]
        if name not in BUILTIN_SERIES:
            msg = f"unknown built-in series {name!r}"
            guess = nearest(name, BUILTIN_SERIES)
            if guess is not None:
                msg += f" — did you mean 'builtin:{guess}'?"
            msg += " Available: " + ", ".join(f"builtin:{n}" for n in sorted(BUILTIN_SERIES))
            raise DataError(msg, source=text)
        series = BUILTIN_SERIES[name]()
        return series if columns is None else select(series, columns)
    path = Path(text)
    if base_dir is not None and not path.is_absolute():
        path = Path(base_dir) / path
    return load_series_csv(path, columns=columns, date_column=date_column)


def optional_column(name: str, header: list[str]) -> int | None:
    """Position of ``name`` (case-insensitive) in ``header``, or None when absent."""
    for k, col in enumerate(header):
        if col == name:
            return k
    for k, col in enumerate(header):
        if col.lower() == name.lower():
            return k
    return None
