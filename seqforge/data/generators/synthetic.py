"""Deterministic synthetic data sets: small, exact exercises for recurrent models.

Each generator takes a ``seed`` and draws from ``np.random.default_rng(seed)`` only, so
the same arguments give the same data on every machine, and the correct answer is known
exactly (a model's mistakes are its own, not label noise). Month and weekday names are
spelled here rather than by ``strftime``, whose output depends on the locale.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np

from ...errors import DataError, unknown_name_message

# ------------------------------------------------------------------------------ dates

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FIRST_DATE = dt.date(1950, 1, 1)
LAST_DATE = dt.date(2049, 12, 31)


def _month(d: dt.date) -> str:
    return MONTHS[d.month - 1]


def _mon(d: dt.date) -> str:
    return MONTHS[d.month - 1][:3]


def _weekday(d: dt.date) -> str:
    return WEEKDAYS[d.weekday()]


#: human formats of :func:`date_pairs`, shown for 2004-07-24
DATE_FORMATS: dict[str, Callable[[dt.date], str]] = {
    "July 24, 2004": lambda d: f"{_month(d)} {d.day}, {d.year}",
    "Jul 24, 2004": lambda d: f"{_mon(d)} {d.day}, {d.year}",
    "24 July 2004": lambda d: f"{d.day} {_month(d)} {d.year}",
    "24 Jul 2004": lambda d: f"{d.day} {_mon(d)} {d.year}",
    "7/24/2004": lambda d: f"{d.month}/{d.day}/{d.year}",
    "07/24/2004": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",
    "24.07.2004": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "Saturday, July 24, 2004": lambda d: f"{_weekday(d)}, {_month(d)} {d.day}, {d.year}",
    "Sat, 24 Jul 2004": lambda d: f"{_weekday(d)[:3]}, {d.day} {_mon(d)} {d.year}",
}


def date_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` pairs (human-written date, ISO date), e.g. ``("24 Jul 2004", "2004-07-24")``.

    Dates are uniform over 1950-01-01 .. 2049-12-31; the format is uniform over
    :data:`DATE_FORMATS`.
    """
    _check_count(n, "date_pairs")
    rng = np.random.default_rng(seed)
    span = (LAST_DATE - FIRST_DATE).days + 1
    offsets = rng.integers(0, span, size=n)  # (n,)
    formats = list(DATE_FORMATS.values())
    which = rng.integers(0, len(formats), size=n)  # (n,)
    out = []
    for off, k in zip(offsets, which):
        day = FIRST_DATE + dt.timedelta(days=int(off))
        out.append((formats[int(k)](day), day.isoformat()))
    return out


# ------------------------------------------------------------------ arithmetic, strings


def addition_pairs(n: int, seed: int, max_digits: int = 3) -> list[tuple[str, str]]:
    """``n`` pairs like ``("535+61", "596")``.

    Each operand first draws its digit count (1..``max_digits``) and then a value with
    that many digits, so short and long operands are equally common (uniform values
    would make almost every operand ``max_digits`` long).
    """
    _check_count(n, "addition_pairs")
    if max_digits < 1:
        raise DataError(f"max_digits must be at least 1, got {max_digits}",
                        source="generator:addition_pairs")
    rng = np.random.default_rng(seed)

    def operands() -> np.ndarray:
        digits = rng.integers(1, max_digits + 1, size=n)  # (n,)
        low = np.where(digits == 1, 0, 10 ** (digits - 1))
        return rng.integers(low, 10**digits)  # (n,) in [low, 10**digits)

    a, b = operands(), operands()
    return [(f"{x}+{y}", str(int(x) + int(y))) for x, y in zip(a, b)]


def reversal_pairs(
    n: int, seed: int, min_len: int = 3, max_len: int = 8, alphabet: str = "abcdefghij"
) -> list[tuple[str, str]]:
    """``n`` pairs (string, reversed string), lengths uniform in ``min_len..max_len``."""
    _check_count(n, "reversal_pairs")
    if not 1 <= min_len <= max_len:
        raise DataError(f"need 1 <= min_len <= max_len, got {min_len} and {max_len}",
                        source="generator:reversal_pairs")
    if not alphabet:
        raise DataError("alphabet is empty", source="generator:reversal_pairs")
    rng = np.random.default_rng(seed)
    letters = np.array(list(alphabet))
    lengths = rng.integers(min_len, max_len + 1, size=n)  # (n,)
    out = []
    for length in lengths:
        s = "".join(rng.choice(letters, size=int(length)))
        out.append((s, s[::-1]))
    return out


_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
MAX_SPELLED = 10**12 - 1


def spell_number(value: int) -> str:
    """English words for ``0 <= value < 10**12``: 123 -> "one hundred twenty three".

    No "and", no hyphens: every word is one token for a word-level model.
    """
    if not 0 <= value <= MAX_SPELLED:
        raise DataError(f"can spell 0..{MAX_SPELLED}, got {value}",
                        source="generator:number_spellings")
    if value == 0:
        return "zero"
    words: list[str] = []
    for size, name in _SCALES:
        if value >= size:
            words += _below_thousand(value // size) + [name]
            value %= size
    words += _below_thousand(value)
    return " ".join(words)


def _below_thousand(value: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(value, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        words.append(_TENS[rest // 10])
        if rest % 10:
            words.append(_ONES[rest % 10])
    elif rest:
        words.append(_ONES[rest])
    return words


def number_spellings(n: int, seed: int, max_value: int = 999) -> list[tuple[int, str]]:
    """``n`` pairs ``(123, "one hundred twenty three")``, values uniform in 0..max_value."""
    _check_count(n, "number_spellings")
    if not 0 <= max_value <= MAX_SPELLED:
        raise DataError(f"max_value must be in 0..{MAX_SPELLED}, got {max_value}",
                        source="generator:number_spellings")
    rng = np.random.default_rng(seed)
    values = rng.integers(0, max_value + 1, size=n)  # (n,)
    return [(int(v), spell_number(int(v))) for v in values]


# --------------------------------------------------------------------------- waveforms

WAVEFORM_CLASSES = ("sine", "square", "sawtooth", "triangle")
#: frequencies in cycles per step: periods from 50 steps down to 10
FREQ_RANGE = (0.02, 0.1)


def waveform(kind: str, freq: float, length: int) -> np.ndarray:
    """One ``(length,)`` float32 waveform in [-1, 1], phase 0, ``freq`` cycles per step.

    The phase is fixed so that (kind, frequency) determines the curve exactly — what a
    model conditioned on them can learn to draw.
    """
    if kind not in WAVEFORM_CLASSES:
        raise DataError(unknown_name_message("waveform", kind, WAVEFORM_CLASSES),
                        source="generator:waveforms")
    if not freq > 0:
        raise DataError(f"frequency must be positive, got {freq}", source="generator:waveforms")
    if length < 1:
        raise DataError(f"length must be at least 1, got {length}", source="generator:waveforms")
    cycles = freq * np.arange(length, dtype=np.float64)  # (length,)
    frac = cycles % 1.0  # position within the current period
    if kind == "sine":
        y = np.sin(2 * np.pi * cycles)
    elif kind == "square":
        y = np.where(frac < 0.5, 1.0, -1.0)
    elif kind == "sawtooth":
        y = 2.0 * frac - 1.0
    else:  # triangle, shifted a quarter period so it starts at 0 rising, like the sine
        y = 1.0 - 4.0 * np.abs((cycles + 0.25) % 1.0 - 0.5)
    return y.astype(np.float32)


def waveform_condition(
    kind: str, freq: float, classes: Sequence[str] = WAVEFORM_CLASSES
) -> np.ndarray:
    """The ``(len(classes)+1,)`` float32 conditioning vector: one-hot kind + freq in [0, 1]."""
    classes = tuple(classes)
    if kind not in classes:
        raise DataError(unknown_name_message("waveform", kind, classes),
                        source="generator:waveforms")
    lo, hi = FREQ_RANGE
    if not lo <= freq <= hi:
        raise DataError(f"frequency must be in {lo}..{hi} cycles per step, got {freq}",
                        source="generator:waveforms")
    cond = np.zeros(len(classes) + 1, dtype=np.float32)
    cond[classes.index(kind)] = 1.0
    cond[-1] = (freq - lo) / (hi - lo)
    return cond


def waveforms(
    n: int,
    seed: int,
    length: int = 50,
    classes: Sequence[str] = WAVEFORM_CLASSES,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` random waveforms with their conditioning vectors.

    Returns ``cond`` ``(n, len(classes)+1)`` float32 (one-hot class, then the frequency
    normalised from :data:`FREQ_RANGE` to [0, 1]), ``y`` ``(n, length, 1)`` float32,
    ``labels`` ``(n,)`` int64 (index into ``classes``) and ``freqs`` ``(n,)`` float64
    (cycles per step).
    """
    _check_count(n, "waveforms")
    classes = tuple(classes)
    if not classes:
        raise DataError("no waveform classes given", source="generator:waveforms")
    for kind in classes:
        if kind not in WAVEFORM_CLASSES:
            raise DataError(unknown_name_message("waveform", kind, WAVEFORM_CLASSES),
                            source="generator:waveforms")
    if len(set(classes)) != len(classes):
        raise DataError(f"waveform classes repeat: {classes}", source="generator:waveforms")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(classes), size=n).astype(np.int64)  # (n,)
    freqs = rng.uniform(*FREQ_RANGE, size=n)  # (n,)
    cond = np.stack([waveform_condition(classes[k], f, classes) for k, f in zip(labels, freqs)]
                    ) if n else np.zeros((0, len(classes) + 1), np.float32)  # (n, K+1)
    y = np.stack([waveform(classes[k], f, length) for k, f in zip(labels, freqs)]
                 ) if n else np.zeros((0, length), np.float32)  # (n, length)
    return cond.astype(np.float32), y[:, :, None], labels, freqs


# ---------------------------------------------------------------------------- anomalies

ANOMALY_KINDS = ("spike", "level_shift", "flatline", "noise_burst")
_MAX_ANOMALY_LEN = 10
_GAP = 5  # clean steps kept on each side of an anomaly so two never touch


def anomaly_series(
    length: int = 4000,
    seed: int = 0,
    n_anomalies: int = 12,
    clean_fraction: float = 0.4,
    noise: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """A seasonal signal with labelled anomalies.

    Returns ``values`` ``(N, 1)`` float32 and ``labels`` ``(N,)`` int8 (1 = anomalous).

    The signal is two seasonal sines (periods 24 and 168 steps, like hourly data with
    daily and weekly cycles), a slow linear trend and Gaussian noise of std ``noise``.
    ``n_anomalies`` anomalies, each 1-10 steps long and labelled 1, cycle through
    :data:`ANOMALY_KINDS`: spikes (+-4-6 signal std), short level shifts (+-2-3 std),
    flat-lines (the value frozen) and noise bursts (noise of 1.5 std).

    None falls in the first ``clean_fraction`` (default 40 %) of the series, so a model
    can be trained on that clean prefix and judged on the rest — the usual setting for
    reconstruction/forecast-error anomaly detection. Each anomaly sits at a random place
    in its own equal share of the remainder, so they are spread out and never overlap.
    """
    where = "generator:anomaly_series"
    if length < 100:
        raise DataError(f"length must be at least 100, got {length}", source=where)
    if not 0 <= clean_fraction < 1:
        raise DataError(f"clean_fraction must be in [0, 1), got {clean_fraction}", source=where)
    if n_anomalies < 0:
        raise DataError(f"n_anomalies must be 0 or more, got {n_anomalies}", source=where)
    start = int(np.ceil(clean_fraction * length))
    share = (length - start) // n_anomalies if n_anomalies else 0
    if n_anomalies and share < _MAX_ANOMALY_LEN + 2 * _GAP:
        raise DataError(
            f"{n_anomalies} anomalies need at least {_MAX_ANOMALY_LEN + 2 * _GAP} steps each "
            f"after the clean prefix, but only {length - start} steps remain — lengthen the "
            "series or use fewer anomalies",
            source=where,
        )

    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)  # (N,)
    phases = rng.uniform(0, 2 * np.pi, size=2)
    values = (
        1.0 * np.sin(2 * np.pi * t / 24 + phases[0])
        + 0.5 * np.sin(2 * np.pi * t / 168 + phases[1])
        + 0.5 * t / length  # trend
        + rng.normal(0.0, noise, size=length)
    )  # (N,)
    sd = float(values[:start].std()) if start > 1 else float(values.std())
    labels = np.zeros(length, dtype=np.int8)  # (N,)

    kinds = rng.permutation([ANOMALY_KINDS[i % len(ANOMALY_KINDS)] for i in range(n_anomalies)])
    for i, kind in enumerate(kinds):
        span = int(rng.integers(1, 4) if kind == "spike" else rng.integers(5, _MAX_ANOMALY_LEN + 1))
        lo = start + i * share + _GAP
        pos = int(rng.integers(lo, lo + share - 2 * _GAP - span + 1))
        seg = slice(pos, pos + span)
        sign = 1.0 if rng.random() < 0.5 else -1.0
        if kind == "spike":
            values[seg] += sign * rng.uniform(4, 6) * sd
        elif kind == "level_shift":
            values[seg] += sign * rng.uniform(2, 3) * sd
        elif kind == "flatline":
            values[seg] = values[pos - 1]  # frozen at the last good reading
        else:
            values[seg] += rng.normal(0.0, 1.5 * sd, size=span)
        labels[seg] = 1
    return values.astype(np.float32)[:, None], labels


# ------------------------------------------------------------------------------ helpers


def _check_count(n: int, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise DataError(f"n must be a whole number of 0 or more, got {n!r}",
                        source=f"generator:{name}")
