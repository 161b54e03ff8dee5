"""Date cells → ``datetime64``, in any common format, told or inferred — never guessed
silently when two formats read the same cells differently (``03/04/2020``).

:func:`parse_dates` takes the texts of a date column and a ``strptime`` format (or None
to infer one from :data:`FORMATS`) and returns the dates or the index of the first cell
that does not parse. Days stay ``datetime64[D]`` unless two rows share a day (hourly
data): then seconds. Time zones are converted to UTC. ``1970 Q1`` quarters are read too.
pandas parses when it is installed (fast); the standard library otherwise (same results).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

#: formats tried, in order, when no ``date_format`` is given
FORMATS = (
    "ISO8601", "%Y-%m", "%Y/%m/%d", "%Y%m%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y",
    "%m-%d-%Y", "%d-%m-%Y", "%m/%d/%y", "%d/%m/%y", "%b %d, %Y", "%d %b %Y", "%d-%b-%Y",
    "%b %Y", "%Y %b", "%Y-%b", "%Y", "quarter",
)
#: formats a column *not named* like a date may be recognised by (digits alone are values)
SEPARATED = tuple(f for f in FORMATS if f not in ("%Y%m%d", "%Y"))
_QUARTER = re.compile(r"^\s*(\d{4})\s*[-\s]?\s*[Qq]([1-4])\s*$")


@dataclass
class Parsed:
    """Dates (N,) or, when a cell failed, ``bad`` = its index (and ``dates`` None)."""

    dates: np.ndarray | None
    bad: int | None = None
    format: str | None = None
    #: cells the format read (0: no known format reads this column)
    matched: int = 0


def _iso(text: str) -> dt.datetime | None:
    s = text.strip()
    if len(s) < 10:
        return None
    try:
        d = dt.datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        return None
    if d.tzinfo is not None:
        d = d.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return d


def _one(text: str, fmt: str) -> dt.datetime | None:
    s = text.strip()
    if fmt == "ISO8601":
        return _iso(s)
    if fmt == "quarter":
        m = _QUARTER.match(s)
        return dt.datetime(int(m.group(1)), 3 * int(m.group(2)) - 2, 1) if m else None
    try:
        return dt.datetime.strptime(s, fmt)
    except ValueError:
        return None


def _with_pandas(texts, fmt: str) -> np.ndarray | None:
    """(N,) datetime64[s] with NaT where a cell fails, or None without pandas."""
    try:
        import pandas as pd
    except ImportError:
        return None
    if fmt == "quarter":
        return None
    s = texts if isinstance(texts, pd.Series) else pd.Series(texts, dtype=object)
    s = s.reset_index(drop=True)

    def parse(cells):
        try:  # naive first: the common case, and pandas' fast path
            got = pd.to_datetime(cells, format=fmt, errors="coerce")
        except (ValueError, TypeError):  # mixed time-zone offsets
            got = pd.to_datetime(cells, format=fmt, errors="coerce", utc=True)
        if getattr(got.dt, "tz", None) is not None:
            got = got.dt.tz_convert("UTC").dt.tz_localize(None)
        return got

    try:
        got = parse(s)
        nat = got.isna()
        if nat.any():  # surrounding blanks: retry only those cells, stripped
            got[nat] = parse(s[nat].str.strip())
        if fmt == "ISO8601":
            # as the standard-library path: a day at least, never a bare year or month —
            # which pandas reads as the 1st at midnight, so only those cells are looked at
            first = (got.dt.day == 1) & (got.dt.hour == 0) & (got.dt.minute == 0)
            if first.any():
                short = s[first].str.strip().str.len() < 10
                got[short[short].index] = pd.NaT
    except (ValueError, TypeError, OverflowError):
        return None
    return got.to_numpy(dtype="datetime64[s]")


def _parse_with(texts: list[str], fmt: str) -> np.ndarray:
    """(N,) datetime64[s], NaT where a cell does not parse."""
    fast = _with_pandas(texts, fmt)
    if fast is not None:
        return fast
    out = np.empty(len(texts), dtype="datetime64[s]")
    for i, t in enumerate(texts):
        d = _one(t, fmt)
        out[i] = np.datetime64(d, "s") if d is not None else np.datetime64("NaT")
    return out


def _resolution(d: np.ndarray) -> np.ndarray:
    days = d.astype("datetime64[D]")
    distinct = len(days) < 2 or bool(np.all(np.diff(np.sort(days).astype(np.int64)) > 0))
    return days if distinct else d


def parse_dates(texts, fmt: str | None = None, *,
                candidates: tuple[str, ...] = FORMATS) -> Parsed:
    """Parse a date column (a list of texts or a pandas Series of them); with ``fmt``
    None, infer it (see :func:`infer_format`)."""
    got = None
    if fmt is None:
        found = infer_format(texts, candidates)
        if isinstance(found, AmbiguousFormat):
            raise found
        fmt, got = found
    if got is None:
        got = _parse_with(texts, fmt)
    bad = np.flatnonzero(np.isnat(got))
    if bad.size:
        return Parsed(None, int(bad[0]), fmt, len(texts) - bad.size)
    return Parsed(_resolution(got), None, fmt, len(texts))


class AmbiguousFormat(ValueError):
    """Two formats read every cell, into different dates."""

    def __init__(self, formats: list[str], example: str):
        self.formats, self.example = formats, example
        super().__init__(f"dates like {example!r} read as {' and as '.join(formats)}")


def infer_format(texts, candidates: tuple[str, ...] = FORMATS
                 ) -> tuple[str, np.ndarray | None] | AmbiguousFormat:
    """(format, its parse of every cell or None): the format that reads every cell; of
    several, the first unless they disagree (then an :class:`AmbiguousFormat`); of none,
    the one reading the most cells (for the error message)."""
    # screen every candidate on a few cells (a failing parse is slow in pandas), then
    # confirm the survivors on the whole column
    sample = texts.iloc[:20] if hasattr(texts, "iloc") else texts[:20]
    counts: dict[str, int] = {}
    full: list[tuple[str, np.ndarray]] = []
    for fmt in candidates:
        got = _parse_with(sample, fmt)
        counts[fmt] = int((~np.isnat(got)).sum())
        if counts[fmt] == len(sample):
            whole = _parse_with(texts, fmt) if len(texts) > len(sample) else got
            if not np.isnat(whole).any():
                full.append((fmt, whole))
    if full:
        first_fmt, first = full[0]
        for fmt, other in full[1:]:
            if np.any(other != first):
                k = int(np.flatnonzero(other != first)[0])
                return AmbiguousFormat([first_fmt, fmt], str(texts.iloc[k] if hasattr(texts, "iloc") else texts[k]))
        return first_fmt, first
    return max(candidates, key=lambda f: counts[f]), None  # the most plausible, for the error


def describe(fmt: str | None) -> str:
    return {"ISO8601": "ISO (YYYY-MM-DD)", "quarter": "quarters (1970 Q1)",
            None: "a date"}.get(fmt, fmt)


__all__ = ["parse_dates", "infer_format", "AmbiguousFormat", "Parsed", "FORMATS", "SEPARATED",
           "describe"]
