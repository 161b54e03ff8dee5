"""Model units → the data's units: undo the window normalisation, the scaler (per
series) and the target transforms, in that order — the exact inverse of
:mod:`.prepare`. Forecasts are (B, Hz, Q, T): steps, quantiles (1 for a point
forecast), targets. Each quantile inverts on its own: every step is monotone for a
one-step forecast; past one step a differenced series' quantiles are summed, which
treats the steps' errors as perfectly correlated (wider bands, never narrower).
"""

from __future__ import annotations

import numpy as np

from ..facets import Series as SeriesFacet
from .prepare import chain_of


def to_raw(facet: SeriesFacet, out: np.ndarray, y_loc: np.ndarray, y_scale: np.ndarray,
           sid: np.ndarray, hist: np.ndarray | None) -> np.ndarray:
    """(B, Hz, Q, T) model-unit forecasts → (B, Hz, Q, T) float64 in the data's units.

    ``y_loc``, ``y_scale`` (B, T), ``sid`` (B,) and ``hist`` (B, H, T) are the items'."""
    v = np.asarray(out, dtype=np.float64) * y_scale[:, None, None, :] + y_loc[:, None, None, :]
    back = np.empty_like(v)
    tidx = facet.target_idx
    for s in np.unique(sid):
        rows = sid == s
        back[rows] = facet.scaler_of(int(s)).inverse_transform(v[rows], columns=tidx)
    chain = chain_of(facet)
    if not chain:
        return back
    if hist is None:
        raise ValueError("inverting data.transform needs each item's raw history")
    for q in range(back.shape[2]):
        back[:, :, q] = chain.inverse(back[:, :, q], hist)
    return back


__all__ = ["to_raw"]
