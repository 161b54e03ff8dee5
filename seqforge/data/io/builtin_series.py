"""Series shipped with seqforge, addressed as ``builtin:<name>`` — the daily Google prices
matplotlib ships as sample data — and :func:`load_series`, which reads either kind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ...errors import DataError, nearest
from .csv_options import CsvOptions
from .csv_series import Series, load_series_csv, select

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
    *,
    id_column: str | None = None,
    options: CsvOptions | None = None,
) -> Series:
    """``builtin:<name>`` or a CSV path (relative paths resolve against ``base_dir``);
    ``id_column`` and ``options`` apply to CSV files."""
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
    return load_series_csv(path, columns=columns, date_column=date_column, id_column=id_column,
                           options=options)
