"""One series → forecasting items, the same way for the training data and a user's file.

Raw rows ``(N, C)`` of the facet's columns go through the target transforms (targets
only; the first ``lag`` rows are lost), the scaler (fitted on training rows), and per
window the window normalisation. An item whose first target row is ``t`` holds:

* ``x`` (W, I [+ 2F + K]) float32 — input rows t-W .. t-1, normalised, plus the calendar
  features and the K known-future columns (``data.future``, scaled) of rows
  t-W+Hz .. t+Hz-1 (so its last Hz steps carry the predicted rows');
* ``y`` (Hz·T,) float32 — target rows t .. t+Hz-1 in model units (step-major);
* ``y_loc``, ``y_scale`` (T,) — model units → scaled units; ``x_loc``, ``x_scale`` (I,)
  likewise for the inputs (a recursive forecast re-normalises each slid window);
* ``hist`` (H, T) float64 — the raw target rows before t (baselines, inverse transforms);
* ``y_raw`` (Hz·T,) float64 — the true targets in the data's units;
* ``t`` — the row of the first target; ``sid`` — which series (long format).

A third-party dataset that provides the ``Series`` facet builds its items the same way
with :func:`series_splits` — one call per series — so the built-in ``forecast`` task (its
baselines, inverse transforms and metrics) works on it unchanged.
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import DataError
from ..facets import Series as SeriesFacet
from ..transforms.calendar import calendar_features, future_dates
from ..transforms.target import Chain
from ..transforms.window_norm import normalise, target_stats, window_stats
from ..transforms.windowing import window_spans
from .future import known_rows, scale_future


def chain_of(facet: SeriesFacet) -> Chain:
    return Chain(facet.transforms)


def history_rows(window: int, lag: int, season: int) -> int:
    """Raw rows before an origin every item carries: its window, the rows the transforms
    consumed, and at least one season (the seasonal naive forecast)."""
    return max(window + lag, season)


def transformed(facet: SeriesFacet, raw: np.ndarray, columns: list[str], where: str) -> np.ndarray:
    """(N, C) float64: target columns through ``data.transform`` (first ``lag`` rows NaN)."""
    chain = chain_of(facet)
    out = np.array(raw, dtype=np.float64)
    tcols = [columns.index(c) for c in facet.targets if c in columns]
    if chain and tcols:
        chain.check(raw[:, tcols], [columns[k] for k in tcols], where)
        out[:chain.lag] = np.nan
        out[chain.lag:, tcols] = chain.forward(raw[:, tcols])
    return out


def scaled(facet: SeriesFacet, z: np.ndarray, sid: int, columns: list[str],
           source: str) -> np.ndarray:
    """(N, C) float32 scaled by series ``sid``'s scaler; a DataError names columns that
    overflow (rows the transforms consumed stay NaN and are never read)."""
    idx = [facet.columns.index(c) for c in columns]
    with np.errstate(over="ignore", invalid="ignore"):  # reported below, by column
        out = facet.scaler_of(sid).transform(z, columns=idx).astype(np.float32)  # (N, C)
    lag = chain_of(facet).lag
    # the model computes in float32 and its forecasts come back through the inverse
    # scaling: values beyond float32 itself cannot be modelled, whatever the scaler
    bad = ~np.isfinite(out[lag:]).all(axis=0) | (np.abs(z[lag:]) > F32_MAX).any(axis=0)  # (C,)
    if bad.any():  # e.g. 1e308 in a file: finite as float64, not after scaling/float32
        shown = ", ".join(repr(c) for c, b in zip(columns, bad) if b)
        raise DataError(f"column(s) {shown}: values too large to train on (not finite in "
                        f"float32 after scaling) — rescale the data", source=source)
    return out


#: scaled magnitude beyond which a prediction input is refused: 10⁴ training ranges (or
#: standard deviations) away from the training data is a unit error, not a level to forecast
FAR_OUTSIDE = 1e4
F32_MAX = float(np.finfo(np.float32).max)


def refuse_far_outside(zs: np.ndarray, raw: np.ndarray, columns: list[str], where: str) -> None:
    """DataError when scaled inputs ``zs`` lie far outside anything seen in training."""
    with np.errstate(invalid="ignore"):
        far = np.nanmax(np.abs(zs), axis=0) > FAR_OUTSIDE  # (C,)
    if far.any():  # finite, but no trained model says anything about such values
        name = columns[int(np.argmax(far))]
        raise DataError(f"column {name!r} holds values far outside anything the model was "
                        f"trained on (up to {np.nanmax(np.abs(raw)):.3g}); its forecasts would "
                        "be meaningless — check the units of the file", source=where)


def calendar_rows(facet: SeriesFacet, dates: np.ndarray | None, n: int) -> np.ndarray | None:
    """(n + Hz, 2F) calendar features of every row and of the Hz rows after the last."""
    if not facet.calendar:
        return None
    if dates is None:
        raise DataError("data.calendar needs a date column", path="data.calendar")
    more = future_dates(dates[-1], facet.freq, facet.horizon)
    if more is None:
        raise DataError("data.calendar needs dates at a regular frequency (the rows after "
                        "the last are predicted), and this series' step could not be told",
                        path="data.calendar")
    all_dates = np.concatenate([dates.astype(more.dtype), more])
    return calendar_features(all_dates, facet.calendar)


def make_items(facet: SeriesFacet, raw: np.ndarray, z: np.ndarray, origins: np.ndarray, *,
               columns: list[str], sid: int = 0, cal: np.ndarray | None = None,
               targets: bool = True) -> dict[str, torch.Tensor]:
    """Columns of the items whose first target rows are ``origins`` (M,); see the module
    docstring. ``raw`` (N, C) and ``z`` (N, C) scaled hold ``columns``; without
    ``targets`` the rows after the last window need not exist (prediction)."""
    W, Hz, H = facet.window, facet.horizon, facet.history
    t = np.asarray(origins, dtype=np.int64)
    M = len(t)
    in_idx = [columns.index(c) for c in facet.inputs]
    tgt_idx = [columns.index(c) for c in facet.targets if c in columns]
    x = torch.from_numpy(np.ascontiguousarray(window_spans(z, W)[t - W][:, :, in_idx]))  # (M, W, I)
    x_loc, x_scale = window_stats(x, facet.window_norm)  # (M, I)
    x = normalise(x, x_loc, x_scale)
    if cal is not None:
        lead = torch.from_numpy(np.ascontiguousarray(window_spans(cal, W)[t - W + Hz]))  # (M, W, 2F)
        x = torch.cat([x, lead], dim=2)
    out = {"x": x.float(), "x_loc": x_loc, "x_scale": x_scale,
           "t": torch.from_numpy(t), "sid": torch.full((M,), sid, dtype=torch.long)}
    T = len(facet.targets)
    if len(tgt_idx) == T:
        past = torch.from_numpy(np.ascontiguousarray(window_spans(z, W)[t - W][:, :, tgt_idx]))
        y_loc, y_scale = target_stats(past, facet.window_norm, facet.residual)  # (M, T)
        hist = window_spans(raw, H)[t - H][:, :, tgt_idx]  # (M, H, T)
        out["hist"] = torch.from_numpy(np.ascontiguousarray(hist, dtype=np.float64))
    else:  # a file without the target columns (allowed only when nothing needs them)
        y_loc, y_scale = torch.zeros(M, T), torch.ones(M, T)
    out["y_loc"], out["y_scale"] = y_loc.float(), y_scale.float()
    if targets:
        ys = torch.from_numpy(np.ascontiguousarray(window_spans(z, Hz)[t][:, :, tgt_idx]))  # (M, Hz, T)
        out["y"] = normalise(ys, y_loc, y_scale).reshape(M, Hz * T).float()
        y_raw = window_spans(raw, Hz)[t][:, :, tgt_idx].reshape(M, Hz * T)
        out["y_raw"] = torch.from_numpy(np.ascontiguousarray(y_raw, dtype=np.float64))
    return out


def mase_scale(raw_targets: np.ndarray, season: int) -> list[float]:
    """Per target: in-sample MAE of the seasonal naive forecast (lag ``season``, or 1) on
    the training rows (N, T) — the M4 competition's MASE denominator."""
    m = season if season > 1 and len(raw_targets) > season else 1
    if len(raw_targets) <= m:
        return [float("nan")] * raw_targets.shape[1]
    with np.errstate(over="ignore", invalid="ignore"):  # huge values: scale inf, MASE 0
        mae = np.mean(np.abs(raw_targets[m:] - raw_targets[:-m]), axis=0)  # (T,)
    return [float(v) if v > 0 else float("nan") for v in mae]


def fold_origins(origins: np.ndarray, folds: int, where: str) -> list[np.ndarray]:
    """The test origins (sorted rows) cut into ``folds`` consecutive blocks."""
    if folds > len(origins):
        raise DataError(f"{folds} folds need at least {folds} test windows, but {where} has "
                        f"{len(origins)} — use at most {len(origins)} folds or a larger "
                        "data.test", path="data.fold")
    return np.array_split(np.asarray(origins), folds)


__all__ = ["chain_of", "history_rows", "transformed", "scaled", "calendar_rows",
           "make_items", "mase_scale", "fold_origins"]


def series_splits(facet: SeriesFacet, raw: np.ndarray, parts: dict[str, tuple[int, int]], *,
                  columns: list[str] | None = None, sid: int = 0, dates: np.ndarray | None = None,
                  fit: str | None = None, source: str = "series"
                  ) -> dict[str, dict[str, torch.Tensor] | None]:
    """Items of one series, per split: ``{"train": columns, "val": …, "test": …}``.

    ``raw`` (N, C) holds the facet's ``columns`` (inputs, then targets) in the data's
    units; ``parts`` the first-target rows [lo, hi) of each split. ``fit`` (a scaler
    name, e.g. ``"standard"``) fits this series' scaler on its training rows — pass None
    to use the facet's (a trained run's) scaler. Items as in the module docstring.
    """
    from ..transforms.scalers import make_scaler

    columns = list(columns or facet.columns)
    z = transformed(facet, raw, columns, source)
    if fit is not None:
        scaler = make_scaler(fit).fit(z[chain_of(facet).lag:parts["train"][1]])
        if facet.id_column:
            facet.scalers.append(scaler)
        if sid == 0:
            facet.scaler = scaler
        facet.mase_scale.append(mase_scale(raw[:parts["train"][1], facet.target_idx],
                                           facet.season))
    zs = scaled(facet, z, sid, columns, source)
    cal = known_rows(facet, calendar_rows(facet, dates, len(raw)), zs, columns, where=source)
    return {split: (make_items(facet, raw, zs, np.arange(lo, hi), columns=columns, sid=sid,
                               cal=cal) if hi > lo else None)
            for split, (lo, hi) in parts.items()}


def prediction_items(facet: SeriesFacet, raw: np.ndarray, *, columns: list[str] | None = None,
                     sid: int = 0, dates: np.ndarray | None = None, ahead: np.ndarray | None = None,
                     source: str = "inputs") -> list[dict[str, torch.Tensor]]:
    """Items for forecasting from a user's rows ``raw`` (N, C) of ``columns`` (default the
    facet's): one per full window, the last one included — with the trained run's
    transforms and scaler, as ``read_inputs`` hands them to ``predict``. ``ahead`` (≥ Hz,
    F): the raw values of the facet's future columns for the rows after the last."""
    columns = list(columns or facet.columns)
    if len(raw) < facet.history:
        raise DataError(f"needs at least {facet.history} rows (the model's window) but has "
                        f"{len(raw)}", source=source)
    zs = scaled(facet, transformed(facet, raw, columns, source), sid, columns, source)
    refuse_far_outside(zs, raw, columns, source)
    origins = np.arange(facet.history, len(raw) + 1)
    known = known_rows(facet, calendar_rows(facet, dates, len(raw)), zs, columns,
                       ahead=None if ahead is None else scale_future(facet, ahead, sid),
                       where=source, need_ahead=True)
    cols = make_items(facet, raw, zs, origins, columns=columns, sid=sid, cal=known,
                      targets=False)
    return [{k: v[i] for k, v in cols.items()} for i in range(len(origins))]
