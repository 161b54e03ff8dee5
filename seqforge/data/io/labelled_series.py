"""Labelled numeric series — one example per series — read from the standard formats.

Every reader returns a :class:`SeriesSet`: one ``(T_i, C)`` float array per series (NaN
where a value is missing), its label text, and the file line it came from, so every
later error (a label unseen in training, a channel mismatch) names the file and line.

* :func:`read_ucr_table` — the UCR/UEA archive's CSV/TSV: one series per row, no header,
  the label first (``label_column: 0``, the archive's layout) or at another position, or a
  header row naming a label column. Tabs, commas or spaces separate values. Trailing
  empty / NaN cells end a shorter series (the 2018 archive pads variable-length series
  with NaN); a missing value *inside* a series is kept as NaN.
* :func:`read_long_table` — a "long" CSV: one row per (series, time step) with a series
  id column, an optional time column (rows are ordered by it), one column per channel and
  a label column that must be constant within a series.
* :mod:`seqforge.data.io.ts_format` — the sktime/aeon ``.ts`` format (multivariate,
  variable length, missing values), with the same :class:`SeriesSet` result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import DataError
from .table import MISSING_TEXTS, Table, read_table, resolve_columns


@dataclass
class SeriesSet:
    """Series of one file: ``series[i]`` (T_i, C) float32, ``labels[i]`` text (None when
    the file has no labels), ``lines[i]`` the 1-based line it starts on."""

    series: list[np.ndarray]
    labels: list[str] | None
    lines: list[int]
    source: str
    channels: list[str] = field(default_factory=list)

    @property
    def n_channels(self) -> int:
        return self.series[0].shape[1] if self.series else 0

    def check(self) -> SeriesSet:
        """Refuse empty files, empty series and series whose channels disagree."""
        if not self.series:
            raise DataError("has no series", source=self.source)
        c = self.n_channels
        for x, line in zip(self.series, self.lines):
            if x.shape[0] == 0 or np.isnan(x).all():
                raise DataError("the series is empty (no values)", source=self.source, line=line)
            if x.shape[1] != c:
                raise DataError(f"the series has {x.shape[1]} channels but the first series "
                                f"has {c}", source=self.source, line=line)
        return self


def _number(cell: str, source: str, line: int, what: str) -> float:
    text = cell.strip()
    if text.lower() in MISSING_TEXTS or text == "?":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise DataError(f"{what} {cell.strip()!r} is not a number", source=source,
                        line=line) from None


def _cells(text: str) -> list[str]:
    """A line's cells: tab- or comma-separated, else whitespace-separated."""
    if "\t" in text:
        return text.split("\t")
    if "," in text:
        return text.split(",")
    return text.split()


def read_ucr_table(path: str | Path, *, label_column: int | str = 0) -> SeriesSet:
    """The archive's one-series-per-row file (see the module docstring)."""
    p = Path(path)
    source = str(path)
    if not p.exists():
        raise DataError(f"file not found (looked for {p.resolve()})", source=source)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("is not UTF-8 text", source=source) from None
    rows = [(k + 1, _cells(line.rstrip())) for k, line in enumerate(text.splitlines())
            if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise DataError("file is empty; expected one series per row", source=source)
    label_idx: int
    if isinstance(label_column, str):  # a header row names the label column
        header_line, header = rows[0]
        (label_idx,) = resolve_columns([label_column], [h.strip() for h in header], source)
        rows = rows[1:]
        if not rows:
            raise DataError("has a header but no series", source=source)
    else:
        label_idx = label_column
    series, labels, lines = [], [], []
    for line, cells in rows:
        if label_idx >= len(cells):
            raise DataError(f"the row has {len(cells)} cells; the label is expected in "
                            f"column {label_idx + 1}", source=source, line=line)
        label = cells[label_idx].strip()
        if not label or label.lower() in MISSING_TEXTS:
            raise DataError("the label cell is empty", source=source, line=line)
        values = [_number(c, source, line, "value")
                  for k, c in enumerate(cells) if k != label_idx]
        # trailing missing cells end a shorter series (the archive pads with NaN)
        while values and math.isnan(values[-1]):
            values.pop()
        if not values:
            raise DataError("the series is empty (only a label)", source=source, line=line)
        series.append(np.asarray(values, dtype=np.float32)[:, None])  # (T, 1)
        labels.append(_label_text(label))
        lines.append(line)
    return SeriesSet(series, labels, lines, source, ["value"]).check()


def _label_text(label: str) -> str:
    """Archive labels are often written as floats ('1.0000000e+00'): a whole number reads
    as its integer text, so the TRAIN file's '1' and the TEST file's '1.0' are one class."""
    try:
        f = float(label)
    except ValueError:
        return label
    return str(int(f)) if math.isfinite(f) and f == int(f) else label


def read_long_table(path: str | Path | Table, *, id_column: str, label_column: str | None,
                    time_column: str | None, channels: list[str] | None) -> SeriesSet:
    """A long CSV (or a :class:`~seqforge.data.io.table.Table` of its rows): rows of (id,
    time, channels…, label) → one series per id, in the order ids first appear (see the
    module docstring)."""
    table = path if isinstance(path, Table) else read_table(path)
    source = table.source
    (id_idx,) = resolve_columns([id_column], table.header, source)
    lab_idx = resolve_columns([label_column], table.header, source)[0] if label_column else None
    time_idx = resolve_columns([time_column], table.header, source)[0] if time_column else None
    taken = {id_idx, lab_idx, time_idx}
    if channels:
        ch_idx = resolve_columns(channels, table.header, source)
    else:
        ch_idx = [k for k in range(len(table.header)) if k not in taken]
    if not ch_idx:
        raise DataError("has no channel columns besides the id, time and label columns",
                        source=source)
    groups: dict[str, list[int]] = {}
    for r, row in enumerate(table.rows):
        key = row[id_idx].strip()
        if not key:
            raise DataError(f"column {table.header[id_idx]!r} is empty", source=source,
                            line=table.lines[r])
        groups.setdefault(key, []).append(r)
    series, labels, lines = [], [] if lab_idx is not None else None, []
    for key, members in groups.items():
        first = table.lines[members[0]]
        vals = np.array([[_number(table.rows[r][k], source, table.lines[r], "value")
                          for k in ch_idx] for r in members], dtype=np.float32)  # (T, C)
        if time_idx is not None:
            t = np.array([_number(table.rows[r][time_idx], source, table.lines[r], "time")
                          for r in members])
            order = np.argsort(t, kind="stable")
            if len(np.unique(t)) != len(t):
                dup = members[int(np.flatnonzero(np.diff(t[order]) == 0)[0])]
                raise DataError(f"series {key!r} has two rows at the same time",
                                source=source, line=table.lines[dup])
            vals = vals[order]
        if labels is not None:
            labs = {table.rows[r][lab_idx].strip() for r in members}
            if len(labs) != 1:
                raise DataError(f"series {key!r} has more than one label ({sorted(labs)}); "
                                "a series has one label", source=source, line=first)
            lab = labs.pop()
            if not lab:
                raise DataError("the label cell is empty", source=source, line=first)
            labels.append(lab)
        series.append(vals)
        lines.append(first)
    return SeriesSet(series, labels, lines, source,
                     [table.header[k] for k in ch_idx]).check()


__all__ = ["SeriesSet", "read_ucr_table", "read_long_table"]
