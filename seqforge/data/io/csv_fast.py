"""The fast path of :func:`~seqforge.data.io.csv_series.load_series_csv`: pandas' C parser.

It reads only the columns asked for (``usecols``), with the file's delimiter, encoding,
compression, thousands and decimal marks, and hands back a finished
:class:`~seqforge.data.io.csv_series.Series` — or None whenever anything is not clean
(a cell that is not a number, a missing value, a ragged row, a date that does not
parse, a repeated date). None sends the file through the line-exact reader, which
either reads it the same way or names the file, line, column and value of the problem:
this path never reports a cell error of its own, so errors read the same with or
without pandas. Without pandas installed it always answers None.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .csv_options import CsvOptions, codec, open_binary, sniff_delimiter
from .dates import SEPARATED, AmbiguousFormat, parse_dates
from .table import read_header, resolve_columns


def read_series_fast(path: Path, columns: list[str] | None, date_column: str | None,
                     id_column: str | None, options: CsvOptions):
    """A Series, or None (see the module docstring)."""
    try:
        import pandas as pd
    except ImportError:
        return None
    from .csv_series import Series, ambiguous, arrange, named_date_column, pick_columns

    source = str(path)
    try:
        if not path.is_file():
            return None
        delimiter = sniff_delimiter(path, options)
        header = read_header(path, options)
    except Exception:  # noqa: BLE001 - the line-exact reader reports what is wrong
        return None
    if header is None:
        return None

    def read(usecols: list[int], text: list[int], nrows: int | None = None):
        dtype = {k: (str if k in text else np.float64) for k in usecols}
        with open_binary(path) as fh:
            return pd.read_csv(fh, sep=delimiter, header=0, usecols=usecols, dtype=dtype,
                               encoding=codec(options.encoding), thousands=options.thousands,
                               decimal=options.decimal, skip_blank_lines=True, nrows=nrows,
                               engine="c", names=None, skipinitialspace=False)

    try:
        if date_column is None:
            date_idx = None
        elif date_column != "auto":
            date_idx = resolve_columns([date_column], header, source)[0]
        else:
            date_idx = named_date_column(header)
            if date_idx is None:
                date_idx = _unnamed_date_column(read, header, columns, source, options)
        value_idx, id_idx = pick_columns(header, source, columns, date_idx, id_column)
    except Exception:  # noqa: BLE001 - errors are named by the line-exact reader
        return None
    text = [k for k in (date_idx, id_idx) if k is not None]
    try:
        df = read(sorted(set(value_idx + text)), text)
    except Exception:  # noqa: BLE001 - a bad cell, a ragged row: the line-exact reader
        return None
    if len(df) == 0 or len(df.columns) != len(set(value_idx + text)):
        return None
    pos = {k: j for j, k in enumerate(sorted(set(value_idx + text)))}
    values = df.iloc[:, [pos[k] for k in value_idx]].to_numpy(dtype=np.float64)  # (N, C)
    if not np.isfinite(values).all():
        return None
    dates = ids = None
    if date_idx is not None:
        cells = df.iloc[:, pos[date_idx]]
        if cells.isna().any():
            return None
        try:
            got = parse_dates(cells, options.date_format)
        except AmbiguousFormat as exc:
            raise ambiguous(exc, header[date_idx], source) from None
        if got.bad is not None:
            return None
        dates = got.dates
    if id_idx is not None:
        cells = df.iloc[:, pos[id_idx]]
        if cells.isna().any():
            return None
        ids = cells.str.strip().to_numpy(dtype=object)
        if (ids == "").any():
            return None
    order, dup = arrange(dates, ids)
    if dup is not None:
        return None
    if order is not None:
        values = values[order]
        dates = dates[order] if dates is not None else None
        ids = ids[order] if ids is not None else None
    return Series(dates=dates, values=values, columns=[header[k] for k in value_idx],
                  source=source, ids=ids)


def _unnamed_date_column(read, header, columns, source, options) -> int | None:
    """The first column (not asked for as a value) whose first rows all parse as dates."""
    asked = set(resolve_columns(columns, header, source)) if columns else set()
    candidates = [k for k in range(len(header)) if k not in asked]
    if not candidates:
        return None
    head = read(candidates, candidates, nrows=200)
    for j, k in enumerate(candidates):
        cells = head.iloc[:, j]
        if cells.isna().any():
            continue
        try:
            got = parse_dates(cells, options.date_format, candidates=SEPARATED)
        except AmbiguousFormat:
            return k
        if got.dates is not None:
            return k
    return None


__all__ = ["read_series_fast"]
