"""Known-future covariates: columns whose values for the predicted rows are known when the
forecast is made (a planned promotion, a holiday flag, a published weather forecast) —
Darts' *future covariates*.

``data.future: [promo]`` puts the columns beside the inputs and targets in the facet's
scaler (fitted on the training rows, per series in long format); each item's inputs then
carry, like the calendar features, their scaled values for rows t-W+Hz .. t+Hz-1 — so the
window's last Hz steps hold the predicted rows'. In training every such row is in the
file. To forecast past the end of a file, the file goes on for the next Hz rows with the
future columns filled in and the others left empty: :func:`split_future_rows` cuts those
rows off and :func:`known_rows` appends them.
"""

from __future__ import annotations

import numpy as np

from ...errors import DataError
from ..facets import Series as SeriesFacet
from ..io.table import Table


def split_future_rows(table: Table, facet: SeriesFacet) -> tuple[Table, Table | None]:
    """(observed rows, future rows) of a user's table: a future row has every column the
    model reads empty except the future ones. (table, None) when the facet has none."""
    if not facet.future:
        return table, None
    lower = [h.lower() for h in table.header]
    future = {c.lower() for c in facet.future}
    others = [lower.index(c.lower()) for c in facet.columns
              if c.lower() not in future and c.lower() in lower]
    is_future = [bool(others) and all(not row[k].strip() for k in others) for row in table.rows]
    keep = [i for i, f in enumerate(is_future) if not f]
    ahead = [i for i, f in enumerate(is_future) if f]

    def part(rows: list[int]) -> Table:
        return Table(table.header, [table.rows[i] for i in rows], [table.lines[i] for i in rows],
                     table.source)

    if not keep:
        raise DataError("every row leaves the target and input columns empty: there are no "
                        "observed rows to forecast from", source=table.source)
    return part(keep), (part(ahead) if ahead else None)


def scale_future(facet: SeriesFacet, values: np.ndarray, sid: int) -> np.ndarray:
    """(n, F) raw future-column values → (n, F) float32 in the scaler's units."""
    full = np.full((len(values), len(facet.columns)), np.nan)  # the scaler is per column
    idx = [facet.columns.index(c) for c in facet.future]
    full[:, idx] = values
    with np.errstate(invalid="ignore"):
        return facet.scaler_of(sid).transform(full, columns=list(range(len(facet.columns))))[
            :, idx].astype(np.float32)


def known_rows(facet: SeriesFacet, cal: np.ndarray | None, zs: np.ndarray, columns: list[str],
               *, ahead: np.ndarray | None = None, where: str = "the data",
               need_ahead: bool = False) -> np.ndarray | None:
    """(N + Hz, 2·calendar + F) known-future features of every row and of the Hz rows after
    the last: the calendar's ``cal`` (N + Hz, 2·calendar) or None, then the future columns'
    (scaled). ``zs`` (N, C) holds the scaled ``columns``; ``ahead`` (≥ Hz, F) the scaled
    future values past the end, needed (``need_ahead``) when the last window forecasts
    rows beyond the file."""
    Hz = facet.horizon
    if not facet.future:
        return cal
    fut = zs[:, [columns.index(c) for c in facet.future]]  # (N, F)
    if need_ahead:
        got = 0 if ahead is None else len(ahead)
        if got < Hz:
            names = ", ".join(repr(c) for c in facet.future)
            raise DataError(f"the model reads known-future column(s) {names} for the {Hz} "
                            f"row(s) it predicts, but {where} has {got} row(s) after its last "
                            f"observed one — add {Hz} row(s) at the end with {names} filled in "
                            "and the other columns left empty", source=where, path="data.future")
        tail = ahead[:Hz]
    else:  # rows a training or scoring item never reads (its targets are in the file)
        tail = np.full((Hz, len(facet.future)), np.nan, dtype=np.float32)
    fut = np.concatenate([fut, tail]).astype(np.float32)  # (N + Hz, F)
    return fut if cal is None else np.concatenate([cal.astype(np.float32), fut], axis=1)


def n_known(facet: SeriesFacet) -> int:
    """Input features beyond the inputs themselves: 2 per calendar feature, 1 per future
    column."""
    return 2 * len(facet.calendar) + len(facet.future)


__all__ = ["split_future_rows", "scale_future", "known_rows", "n_known"]
