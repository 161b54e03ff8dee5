"""What a forecast run writes beside its metrics: ``forecast.png`` (the test period, the
model's one-step forecast with its interval band, the strongest baseline; one panel per
series for up to four series), ``horizon_error.png`` (RMSE by horizon step, model vs
baselines, for multi-step forecasts) and ``predictions.csv`` (every test forecast, with
its quantiles and the baseline's)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...data.base import columns_of
from ...data.io.rows import write_rows
from ...plots import figure, save_figure

MAX_PANELS = 4
#: baselines never take the model's blue
BASELINE_COLORS = ("tab:gray", "tab:orange", "tab:green", "tab:red", "tab:purple")


def _passes(task, ctx, ds):
    preds, trues, ts, sids = [], [], [], []
    for batch, out in ctx.passes.outputs(ds):
        preds.append(task.raw_forecast(out, batch, ctx.model))
        trues.append(task.truth(batch))
        ts.append(batch["t"].cpu().numpy())
        sids.append(batch["sid"].cpu().numpy())
    return (np.concatenate(preds), np.concatenate(trues), np.concatenate(ts),
            np.concatenate(sids))


def _dates(task, sid: int, t: np.ndarray):
    loaded = task.series.loaded
    dates = loaded[sid]["dates"] if loaded else task.series.dates
    return (dates[t], True) if dates is not None else (t, False)


def write_artifacts(task, ctx) -> list[Path]:
    _, ds = ctx.split()
    if ds is None or len(ds) == 0:
        return []
    pred, true, t, sid = _passes(task, ctx, ds)  # (N, Hz, Q, T), (N, Hz, T), (N,), (N,)
    fc, _, _ = task.baseline_forecasts(ds)
    best = task.baseline_name() if task.baseline_name() in fc else "persistence"
    files = [_forecast_png(task, ctx, pred, true, t, sid, fc[best], best)]
    if task.horizon > 1:
        files.append(_horizon_png(task, ctx, pred, true, fc))
    files.append(_predictions_csv(task, ctx, pred, true, t, sid, fc[best], best))
    if task.series.series_ids:
        files.append(_per_series(task, ctx, ds, pred, true, sid, fc))
    return files


def _per_series(task, ctx, ds, pred, true, sid, fc) -> Path:
    """Per-series metrics beside each series' strongest baseline: into the summary (the
    pooled metrics stay its ``test``) and ``per_series.csv``."""
    from .forecast_metrics import forecast_scores

    scale = task.mase_scale({"sid": sid})
    table, rows = {}, []
    for s, name in enumerate(task.series.series_ids):
        idx = np.flatnonzero(sid == s)
        if not idx.size:
            continue
        model = task.score(pred[idx], true[idx], scale[idx])
        base = {n: forecast_scores(f[idx][:, :, None], true[idx], scale[idx], None)
                for n, f in fc.items()}
        best = min(base, key=lambda n: base[n]["rmse"])
        table[name] = {"rmse": model["rmse"], "mase": model["mase"], "best_baseline": best,
                       "baseline_rmse": base[best]["rmse"], "baseline_mase": base[best]["mase"]}
        rows.append({"series": name, "windows": int(idx.size),
                     **{k: (round(v, 6) if isinstance(v, float) else v)
                        for k, v in table[name].items()}})
    ctx.summary["per_series"] = table  # written with the summary, after the artifacts
    path = ctx.run_dir / "per_series.csv"
    write_rows(rows, path)
    return path


def _forecast_png(task, ctx, pred, true, t, sid, base, best) -> Path:
    ids = list(dict.fromkeys(sid.tolist()))[:MAX_PANELS]
    name = task.series.targets[0]
    fig, axes = figure(nrows=len(ids), figsize=(10, 3.2 * len(ids) + 1.3), squeeze=False)
    for ax, s in zip(axes[:, 0], ids):
        rows = np.flatnonzero(sid == s)
        xs, dated = _dates(task, s, t[rows])
        ax.plot(xs, true[rows, 0, 0], label=f"real {name}", color="black", linewidth=1.2)
        ax.plot(xs, pred[rows, 0, task.point, 0], label=f"predicted {name}", color="tab:blue",
                linewidth=1.2)
        if len(task.quantiles) > 1:
            lo, hi = task.quantiles[0], task.quantiles[-1]
            ax.fill_between(xs, pred[rows, 0, 0, 0], pred[rows, 0, -1, 0], color="tab:blue",
                            alpha=0.2, linewidth=0, label=f"{lo:g}–{hi:g} quantiles")
        ax.plot(xs, base[rows, 0, 0], label=f"{best} baseline", color="tab:gray",
                linewidth=0.8, linestyle="--", alpha=0.8)
        sname = task.series.series_ids[s] if task.series.series_ids else ""
        ax.set_title(f"{ctx.summary.get('name', '')}: {name}{' — ' + sname if sname else ''}, "
                     "test period (1 step ahead)")
        ax.set_ylabel(task.series.label(name))
        ax.set_xlabel("date" if dated else "step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return save_figure(fig, ctx.run_dir / "forecast.png")


def _horizon_png(task, ctx, pred, true, fc) -> Path:
    steps = np.arange(1, task.horizon + 1)
    rmse = lambda f: np.sqrt(np.mean((f - true) ** 2, axis=(0, 2)))  # noqa: E731 (Hz,)
    fig, ax = figure(figsize=(7, 4))
    ax.plot(steps, rmse(pred[:, :, task.point]), marker="o", label="model", color="tab:blue")
    for (name, f), color in zip(fc.items(), BASELINE_COLORS):
        ax.plot(steps, rmse(f), marker=".", linestyle="--", label=name, alpha=0.8, color=color)
    ax.set_xlabel("horizon step")
    target = task.series.targets[0]
    unit = task.series.units.get(target)
    ax.set_ylabel(f"RMSE of {target}" + (f" ({unit})" if unit else " (its units)"))
    ax.set_title(f"{ctx.summary.get('name', '')}: error by horizon (test)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, ctx.run_dir / "horizon_error.png")


def _predictions_csv(task, ctx, pred, true, t, sid, base, best) -> Path:
    rows = []
    for i in range(len(t)):
        xs, dated = _dates(task, int(sid[i]), t[i:i + 1])
        row = {"date" if dated else "t": str(xs[0])}
        if task.series.series_ids:
            row["series"] = task.series.series_ids[int(sid[i])]
        for h in range(task.horizon):
            for k, tn in enumerate(task.series.targets):
                key = f"{tn}_t+{h + 1}"
                row[f"{key}_true"] = round(float(true[i, h, k]), 6)
                row[f"{key}_pred"] = round(float(pred[i, h, task.point, k]), 6)
                for j, q in enumerate(task.quantiles):
                    row[f"{key}_q{q:g}"] = round(float(pred[i, h, j, k]), 6)
                row[f"{key}_{best}"] = round(float(base[i, h, k]), 6)
        rows.append(row)
    path = ctx.run_dir / "predictions.csv"
    write_rows(rows, path)
    return path


__all__ = ["write_artifacts", "columns_of"]
