"""Long-range memory exercises: the adding problem, copy and selective copy.

Each answer depends on inputs far back in the sequence, and the distance is a parameter
— what separates a recurrence that keeps information for T steps from one that forgets
it. Generators draw from ``np.random.default_rng(seed)`` only, so the same arguments
give the same data on every machine, and the correct answer is known exactly.

* **adding problem** (Hochreiter & Schmidhuber 1997, §5 exp. 4; the two-channel form of
  Le et al. 2015 and Arjovsky et al. 2016): channel 0 holds values drawn uniformly from
  [0, 1], channel 1 marks two positions with 1 — one in the first half, one in the
  second; the target is the sum of the two marked values. Predicting the expected sum
  (1) scores MSE = Var(U₁ + U₂) = 2/12 ≈ 0.167.
* **copy** (Hochreiter & Schmidhuber 1997; the "copy memory" form of Arjovsky et al.
  2016): K symbols, blanks, a delimiter, then K more steps in which the K symbols must be
  reproduced in order.
* **selective copy** (Gu & Dao 2023, Mamba §3.1): the K symbols are scattered at random
  positions among blanks (noise), so the model must select which inputs to remember
  rather than count a fixed delay.

Token sequences are strings over ``BLANK``, ``DELIMITER`` and the symbols ``a``, ``b`` …
so they read as text; a target string has ``BLANK`` wherever nothing is asked.
"""

from __future__ import annotations

import string

import numpy as np

from ...errors import DataError

BLANK = "."
DELIMITER = ":"
#: the symbols copy tasks draw from, in order (``symbols: S`` uses the first S)
SYMBOLS = string.ascii_lowercase
MAX_SYMBOLS = len(SYMBOLS)


def adding_problem(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` sequences of ``length`` steps: x (n, T, 2) float32 — values in [0, 1] and the
    0/1 marker channel —, y (n, 1) float32 the sum of the two marked values, and the
    marked positions (n, 2) int64 (first in [0, T/2), second in [T/2, T))."""
    _check(n, length, 2, "adding_problem")
    rng = np.random.default_rng(seed)
    values = rng.random((n, length), dtype=np.float64)  # (n, T)
    half = length // 2
    first = rng.integers(0, half, size=n)  # (n,)
    second = rng.integers(half, length, size=n)  # (n,)
    marks = np.zeros((n, length), dtype=np.float64)
    rows = np.arange(n)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    x = np.stack([values, marks], axis=-1).astype(np.float32)  # (n, T, 2)
    # the sum of the float32 values the model sees, so the target is exact for them
    y = (x[rows, first, 0] + x[rows, second, 0])[:, None]  # (n, 1)
    return x, y.astype(np.float32), np.stack([first, second], axis=1)


def copy_sequences(n: int, length: int, tokens: int, symbols: int, seed: int, *,
                   selective: bool, exclude: set[str] = frozenset()) -> list[tuple[str, str]]:
    """``n`` distinct (input, target) strings, each ``length`` characters.

    The input holds ``tokens`` symbols (of the first ``symbols`` letters) — at its start
    (copy) or at sorted random positions among blanks (selective) — within the first
    ``length - tokens - 1`` steps, then the delimiter and ``tokens`` blanks; the target is
    blank except its last ``tokens`` steps, the symbols in order. Inputs in ``exclude``
    (another split's) are drawn again, so splits never share an example.
    """
    _check(n, length, tokens + 2, "copy_sequences")
    if not 1 <= symbols <= MAX_SYMBOLS:
        raise DataError(f"symbols must be 1..{MAX_SYMBOLS}, got {symbols}",
                        source="generator:copy")
    span = length - tokens - 1  # steps before the delimiter
    if not 1 <= tokens <= span:
        raise DataError(f"{tokens} tokens do not fit before the delimiter of a {length}-step "
                        "sequence", source="generator:copy")
    possible = float(symbols) ** tokens * (_choose(span, tokens) if selective else 1.0)
    if possible < 2 * (n + len(exclude)):
        raise DataError(f"only {possible:.0f} distinct sequences exist with {tokens} tokens of "
                        f"{symbols} symbols in {length} steps — too few for {n} distinct "
                        "examples; use more tokens or symbols", source="generator:copy")
    rng = np.random.default_rng(seed)
    alphabet = np.array(list(SYMBOLS[:symbols]))
    seen = set(exclude)
    out: list[tuple[str, str]] = []
    while len(out) < n:
        drawn = alphabet[rng.integers(0, symbols, size=tokens)]  # (K,)
        row = np.full(length, BLANK)
        if selective:
            row[np.sort(rng.choice(span, size=tokens, replace=False))] = drawn
        else:
            row[:tokens] = drawn
        row[span] = DELIMITER
        text = "".join(row)
        if text in seen:
            continue
        seen.add(text)
        out.append((text, BLANK * (length - tokens) + "".join(drawn)))
    return out


def _choose(n: int, k: int) -> float:
    from math import comb

    return float(comb(n, k)) if k <= n else 0.0


def _check(n: int, length: int, shortest: int, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise DataError(f"n must be a whole number of 0 or more, got {n!r}",
                        source=f"generator:{name}")
    if length < shortest:
        raise DataError(f"length must be at least {shortest}, got {length}",
                        source=f"generator:{name}")


__all__ = ["adding_problem", "copy_sequences", "BLANK", "DELIMITER", "SYMBOLS", "MAX_SYMBOLS"]
