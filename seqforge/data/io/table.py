"""Tables of text cells: a CSV file read with its line numbers, or columns from memory.

Every reader of user data (series, labelled texts, pairs, prediction inputs) starts from
a :class:`Table`, so a bad cell is always reported with the file, the line and the column.
A table held in memory — a pandas or pyarrow table, a dict of columns, a 2-D array with
column names — becomes a :class:`Table` through :func:`as_table` and is then read exactly
like a file (its "lines" are row numbers, counting the header as line 1).
"""

from __future__ import annotations

import csv
import gzip
import lzma
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import DataError, nearest
from .csv_options import CsvOptions, codec, open_binary, open_text, sniff_delimiter

#: cell texts (lower-cased) that spreadsheets and pandas write for a missing value
MISSING_TEXTS = frozenset({"", "nan", "na", "n/a", "null", "none", "#n/a", "nat"})


@dataclass(frozen=True, eq=False)
class Table:
    """A CSV file as text: header, data rows, and the file line each row starts on."""

    header: list[str]
    rows: list[list[str]]  # every row has len(header) cells
    lines: list[int]  # 1-based file line of each row, for error messages
    source: str


def read_table(path: str | Path, options: CsvOptions | None = None) -> Table:
    """Read a CSV file with a header row, checking its shape.

    Blank lines (and rows of only empty cells, which spreadsheets append) are skipped.
    ``options`` give the delimiter and encoding (default: comma, UTF-8); compressed files
    (.gz, .bz2, .xz, .zip) are read decompressed. Raises DataError when the file is
    missing, unreadable, not in its encoding, empty, has no data rows, has duplicate
    header names, or has a row with a different number of cells.
    """
    options = options or CsvOptions()
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
        delimiter = sniff_delimiter(p, options)
        with open_text(p, options.encoding) as fh:
            reader = csv.reader(fh, delimiter=delimiter)
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
    except UnicodeDecodeError as exc:
        if codec(options.encoding) == "utf-8-sig":
            raise DataError("is not UTF-8 text; save it as UTF-8 CSV, or name its encoding "
                            "(data.encoding: latin-1, cp1252 …)", source=source,
                            line=_undecodable_line(p, options.encoding)) from None
        raise DataError(f"is not {options.encoding} text ({exc.reason})", source=source,
                        line=_undecodable_line(p, options.encoding)) from None
    except (EOFError, zipfile.BadZipFile, gzip.BadGzipFile, lzma.LZMAError) as exc:
        raise DataError(f"is a damaged compressed file ({exc})", source=source) from None
    except csv.Error as exc:
        raise DataError(f"is not valid CSV: {exc}", source=source, line=start) from None
    except OSError as exc:
        raise DataError(f"cannot be read: {exc.strerror or exc}", source=source) from None

    if header is None:
        raise DataError("file is empty; expected a header row and data rows", source=source)
    if not rows:
        raise DataError("has a header but no data rows", source=source)
    return Table(header=header, rows=rows, lines=lines, source=source)


def read_header(path: Path, options: CsvOptions | None = None) -> list[str]:
    """The header row of a CSV file, without reading the rest (errors as read_table's)."""
    options = options or CsvOptions()
    if not path.is_file():
        return read_table(path, options).header  # reports what is wrong with the path
    try:
        with open_text(path, options.encoding) as fh:
            for record in csv.reader(fh, delimiter=sniff_delimiter(path, options)):
                if any(cell.strip() for cell in record):
                    return _check_header(record, str(path), 1)
    except (UnicodeDecodeError, csv.Error, OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError):
        pass
    return read_table(path, options).header


def _undecodable_line(path: Path, encoding: str) -> int | None:
    """The first line of ``path`` that does not decode (for the error message)."""
    try:
        with open_binary(path) as fh:
            for k, raw in enumerate(fh, start=1):
                try:
                    raw.decode(codec(encoding))
                except UnicodeDecodeError:
                    return k
    except (OSError, EOFError):
        return None
    return None


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


def optional_column(name: str, header: list[str]) -> int | None:
    """Position of ``name`` (case-insensitive) in ``header``, or None when absent."""
    for k, col in enumerate(header):
        if col == name:
            return k
    for k, col in enumerate(header):
        if col.lower() == name.lower():
            return k
    return None


def _cell(v: Any) -> str:
    """A value from memory as the text a CSV would hold (floats round-trip exactly)."""
    if v is None:
        return ""
    if isinstance(v, float):  # float(): numpy 2 writes np.float64 as 'np.float64(…)'
        return repr(float(v))
    if hasattr(v, "isoformat"):  # datetime, date, pandas Timestamp
        return v.isoformat()
    return str(v)


def as_table(data: Any, *, columns: Sequence[str] | None = None, source: str = "table") -> Table:
    """A :class:`Table` from a file path or an in-memory table.

    Accepted: a path (read as CSV); a :class:`Table`; anything with ``columns`` and
    ``__getitem__(name)`` (a pandas DataFrame); a pyarrow Table (``column_names``); a dict
    of equal-length columns; a 2-D array or list of rows with ``columns`` naming them.
    """
    if isinstance(data, Table):
        return data
    if isinstance(data, (str, Path)):
        return read_table(data)
    names: list[str]
    cols: list[list[Any]]
    if hasattr(data, "column_names") and hasattr(data, "column"):  # pyarrow.Table
        names = [str(c) for c in data.column_names]
        cols = [data.column(c).to_pylist() for c in data.column_names]
    elif isinstance(data, dict) or (hasattr(data, "columns") and hasattr(data, "__getitem__")):
        names = [str(c) for c in (data.keys() if isinstance(data, dict) else data.columns)]
        raw = [data[c] for c in (data.keys() if isinstance(data, dict) else data.columns)]
        cols = [list(c.tolist() if hasattr(c, "tolist") else c) for c in raw]
    else:
        rows = data.tolist() if hasattr(data, "tolist") else list(data)
        if columns is None:
            raise DataError("an array of rows needs column names (columns=[...]); or pass a "
                            "DataFrame or a dict of columns", source=source)
        if any(not isinstance(r, (list, tuple)) or len(r) != len(columns) for r in rows):
            raise DataError(f"expected rows of {len(columns)} values ({', '.join(columns)})",
                            source=source)
        names = list(columns)
        cols = [[r[k] for r in rows] for k in range(len(columns))]
    lengths = {len(c) for c in cols}
    if len(lengths) > 1:
        raise DataError(f"columns differ in length ({sorted(lengths)})", source=source)
    if not cols or not lengths or lengths == {0}:
        raise DataError("the table has no rows", source=source)
    header = _check_header(names, source, 1)
    n = lengths.pop()
    rows = [[_cell(c[i]) for c in cols] for i in range(n)]
    return Table(header=header, rows=rows, lines=list(range(2, n + 2)), source=source)


__all__ = ["Table", "read_table", "read_header", "resolve_columns", "optional_column", "as_table", "MISSING_TEXTS"]
