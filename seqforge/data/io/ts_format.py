"""The sktime/aeon ``.ts`` format: header tags, then one series per line.

::

    # comments
    @problemName BasicMotions
    @timeStamps false
    @missing false
    @univariate false
    @dimensions 6
    @equalLength true
    @seriesLength 100
    @classLabel true Standing Running Walking Badminton
    @data
    v,v,v,…:v,v,v,…:…:Standing        ← channels separated by ':', the label last

Missing values are ``?`` (or ``NaN``). The header is checked against the data: a series
with another number of channels than ``@dimensions`` (or more than one under
``@univariate true``), another length than ``@seriesLength`` under ``@equalLength true``,
a missing value under ``@missing false``, or a label outside ``@classLabel`` is a
DataError naming the file, the line and the header line it contradicts. Time-stamped
data (``@timeStamps true``) is refused with a message: convert it to the long format.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ...errors import DataError
from .labelled_series import SeriesSet, _label_text

_BOOL = {"true": True, "false": False}


def _header(tags: dict[str, tuple[str, int]], name: str) -> tuple[str, int] | None:
    return tags.get(name.lower())


def _flag(tags, name: str, source: str) -> bool | None:
    got = _header(tags, name)
    if got is None:
        return None
    value, line = got
    if value.split()[0].lower() not in _BOOL:
        raise DataError(f"@{name} must be true or false, got {value!r}", source=source,
                        line=line)
    return _BOOL[value.split()[0].lower()]


def _int_tag(tags, name: str, source: str) -> int | None:
    got = _header(tags, name)
    if got is None:
        return None
    try:
        return int(got[0])
    except ValueError:
        raise DataError(f"@{name} must be a whole number, got {got[0]!r}", source=source,
                        line=got[1]) from None


def read_ts(path: str | Path) -> SeriesSet:
    """A ``.ts`` file as a :class:`SeriesSet` (see the module docstring)."""
    p = Path(path)
    source = str(path)
    if not p.exists():
        raise DataError(f"file not found (looked for {p.resolve()})", source=source)
    try:
        lines = p.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise DataError("is not UTF-8 text", source=source) from None
    tags: dict[str, tuple[str, int]] = {}
    start = None
    for k, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower() == "@data":
            start = k + 1
            break
        if not line.startswith("@"):
            raise DataError("expected a header tag (@name value) or @data before the data",
                            source=source, line=k + 1)
        name, _, value = line[1:].partition(" ")
        tags[name.lower()] = (value.strip(), k + 1)
    if start is None:
        raise DataError("has no @data line: not a .ts file", source=source)
    if _flag(tags, "timeStamps", source):
        raise DataError("time-stamped .ts data is not supported; write it in the long format "
                        "(id, time, channels…, label)", source=source,
                        line=tags["timestamps"][1])
    has_labels = _flag(tags, "classLabel", source)
    declared: list[str] | None = None
    if has_labels:
        declared = [_label_text(t) for t in tags["classlabel"][0].split()[1:]]
    dims = _int_tag(tags, "dimensions", source)
    univariate = _flag(tags, "univariate", source)
    equal = _flag(tags, "equalLength", source)
    length = _int_tag(tags, "seriesLength", source)
    missing = _flag(tags, "missing", source)

    series, labels, where = [], [] if has_labels else None, []
    for k in range(start, len(lines)):
        line = lines[k].strip()
        if not line or line.startswith("#"):
            continue
        n = k + 1
        parts = line.split(":")
        if has_labels:
            if len(parts) < 2:
                raise DataError("expected channels and a label separated by ':'",
                                source=source, line=n)
            label = _label_text(parts[-1].strip())
            parts = parts[:-1]
            if declared and label not in declared:
                raise DataError(f"label {label!r} is not among @classLabel "
                                f"({' '.join(declared)}, line {tags['classlabel'][1]})",
                                source=source, line=n)
            labels.append(label)
        chans = []
        for c, text in enumerate(parts):
            cells = [t for t in text.split(",")]
            try:
                vals = [math.nan if t.strip() in ("?", "") or t.strip().lower() == "nan"
                        else float(t) for t in cells]
            except ValueError:
                bad = next(t for t in cells if not _is_float(t))
                raise DataError(f"value {bad.strip()!r} in channel {c + 1} is not a number",
                                source=source, line=n) from None
            while vals and math.isnan(vals[-1]):
                vals.pop()  # trailing missing values pad a shorter series
            chans.append(vals)
        lens = {len(v) for v in chans}
        if len(lens) != 1:
            raise DataError(f"the channels of this series have different lengths "
                            f"({[len(v) for v in chans]}); a series' channels share a clock",
                            source=source, line=n)
        x = np.asarray(chans, dtype=np.float32).T  # (T, C)
        _against_header(x, tags, dims, univariate, equal, length, missing, source, n)
        series.append(x)
        where.append(n)
    return SeriesSet(series, labels, where, source,
                     [f"dim_{c}" for c in range(series[0].shape[1])] if series else []).check()


def _against_header(x: np.ndarray, tags, dims, univariate, equal, length, missing,
                    source: str, line: int) -> None:
    c = x.shape[1]
    if dims is not None and c != dims:
        raise DataError(f"the series has {c} channels but @dimensions says {dims} (line "
                        f"{tags['dimensions'][1]})", source=source, line=line)
    if univariate and c != 1:
        raise DataError(f"the series has {c} channels but @univariate is true (line "
                        f"{tags['univariate'][1]})", source=source, line=line)
    if equal and length is not None and x.shape[0] != length:
        raise DataError(f"the series has {x.shape[0]} steps but @equalLength true with "
                        f"@seriesLength {length} (line {tags['serieslength'][1]})",
                        source=source, line=line)
    if missing is False and np.isnan(x).any():
        raise DataError(f"the series has a missing value but @missing is false (line "
                        f"{tags['missing'][1]})", source=source, line=line)


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


__all__ = ["read_ts"]
