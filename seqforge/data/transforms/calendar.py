"""What dates say about a series: its frequency, its season length, future dates, and
calendar features (known in advance, so a model may read them for the rows it predicts).

* :func:`infer_frequency` — the step between rows (business days, days, weeks, months,
  quarters, years, or a fixed number of seconds) from the median gap, and the season
  length it implies (5 business days a week, 7 days, 12 months, 4 quarters, 52 weeks,
  one day of sub-daily steps);
* :func:`future_dates` — the dates after the last row at that frequency (``predict``
  needs the calendar features of rows that are not in the file yet);
* :func:`calendar_features` — sin/cos encodings of day of week, month, day of year and
  hour (2 columns each, in [-1, 1]).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

CalendarFeature = Literal["day_of_week", "month", "day_of_year", "hour"]
DAY = 86_400

#: frequency name → season length
SEASONS = {"B": 5, "D": 7, "W": 52, "M": 12, "Q": 4, "Y": 1}


def _seconds(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[s]").astype(np.int64)


def infer_frequency(dates: np.ndarray | None) -> tuple[str | None, int]:
    """(frequency, season length) of increasing ``dates`` (N,): frequency is one of B, D,
    W, M, Q, Y or ``"<k>s"`` (a step of k seconds); (None, 1) when it cannot tell."""
    if dates is None or len(dates) < 3:
        return None, 1
    gaps = np.diff(_seconds(dates))
    step = float(np.median(gaps))
    if step == DAY or (DAY < step <= 3 * DAY and np.mean(gaps == DAY) > 0.5):
        days = dates.astype("datetime64[D]")
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        if np.all(weekday < 5) and np.any(gaps > DAY):
            return "B", SEASONS["B"]  # trading days: no weekends in the file
        return "D", SEASONS["D"]
    for name, lo, hi in (("W", 7, 7), ("M", 28, 31), ("Q", 89, 92), ("Y", 365, 366)):
        if lo * DAY <= step <= hi * DAY:
            return name, SEASONS[name]
    if 0 < step < DAY and DAY % step == 0:
        return f"{int(step)}s", int(DAY // step)  # sub-daily: one day is the season
    return None, 1


def future_dates(last: np.datetime64, freq: str | None, n: int) -> np.ndarray | None:
    """The ``n`` dates after ``last`` at ``freq`` (None when the frequency is unknown)."""
    if freq is None or n <= 0:
        return None
    k = np.arange(1, n + 1)
    if freq == "B":
        day = np.datetime64(last, "D")
        return np.busday_offset(day, k, roll="forward").astype(np.asarray(last).dtype)
    if freq in ("D", "W"):
        step = 1 if freq == "D" else 7
        return np.datetime64(last, "D") + k * step
    if freq in ("M", "Q", "Y"):
        months = {"M": 1, "Q": 3, "Y": 12}[freq] * k
        day = np.datetime64(last, "D")
        month = day.astype("datetime64[M]")
        offset = (day - month.astype("datetime64[D]")).astype(np.int64)  # day of month − 1
        starts = (month + months).astype("datetime64[D]")
        ends = (month + months + 1).astype("datetime64[D]") - 1
        return np.minimum(starts + offset, ends)
    return np.datetime64(last, "s") + k * int(freq[:-1])


def calendar_features(dates: np.ndarray, names: list[str]) -> np.ndarray:
    """(N, 2·len(names)) float32: sin and cos of each feature's phase."""
    secs = _seconds(dates)
    days = secs // DAY
    cols = []
    for name in names:
        if name == "day_of_week":
            phase = ((days + 3) % 7) / 7.0
        elif name == "month":
            phase = (dates.astype("datetime64[M]").astype(np.int64) % 12) / 12.0
        elif name == "day_of_year":
            year = dates.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
            phase = (days - year) / 365.25
        elif name == "hour":
            phase = (secs % DAY) / DAY
        else:
            raise ValueError(f"unknown calendar feature {name!r}")
        cols += [np.sin(2 * np.pi * phase), np.cos(2 * np.pi * phase)]
    return np.stack(cols, axis=1).astype(np.float32) if cols else np.zeros((len(dates), 0),
                                                                           np.float32)


__all__ = ["CalendarFeature", "infer_frequency", "future_dates", "calendar_features", "SEASONS"]
