"""Rolling-origin backtest: a forecast run scored on K successive blocks of its test part.

The test part's forecast origins (every window whose targets lie in it, per series) are
cut into K consecutive blocks (:func:`seqforge.data.forecasting.prepare.fold_origins`).

* Without ``retrain``: one trained model (a run directory, or a spec trained once) scores
  every block. All test windows go through the engine's evaluation path in one batched
  pass — no per-window loop over the model — and the metrics are then grouped by block.
* With ``retrain``: block k is scored by a fresh model trained on the rows before it
  (expanding window; the last ``val`` share of those rows validates), set through the
  dataset's ``fold: [k, K]`` key — K trainings.

Each fold reports the model's metrics beside every baseline's and names the strongest;
``backtest.json``, ``backtest.csv`` and ``backtest.png`` go into the run directory (or a
``backtest-<time>`` folder beside the retrained runs).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..data.forecasting.prepare import fold_origins
from ..engine import evaluate as ev
from ..errors import SpecError
from ..plots import figure, save_figure
from ..spec.schema import Spec
from ..spec.validate import load_spec
from ..tasks.scoring.forecast_metrics import forecast_scores
from ..tasks.scoring.forecast_plots import BASELINE_COLORS
from .runs import Run, load_run
from .training import train


def _needs_forecast(task) -> None:
    if not hasattr(task, "baseline_forecasts"):
        raise SpecError("seqforge backtest scores forecasting runs (task: forecast)", path="task")


def _passes(run: Run, task, ds, batch_size: int = 1024):
    """One batched evaluation pass: raw forecasts, truth, MASE scale, t, sid of ``ds``."""
    parts: dict[str, list] = {"q": [], "true": [], "scale": [], "t": [], "sid": []}
    batches = ev.item_batches(ds, run.source.collate, batch_size)
    for batch, out in ev.outputs(run.model, batches, run.device):
        with ev.eval_mode(run.model):  # a recursive forecast runs the model again
            parts["q"].append(task.raw_forecast(out, batch, run.model))
        parts["true"].append(task.truth(batch))
        parts["scale"].append(task.mase_scale(batch))
        parts["t"].append(batch["t"].cpu().numpy())
        parts["sid"].append(batch["sid"].cpu().numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


def fold_of(t: np.ndarray, sid: np.ndarray, folds: int, where: str) -> np.ndarray:
    """(N,) fold of every test window: each series' origins cut into ``folds`` blocks."""
    out = np.empty(len(t), dtype=np.int64)
    for s in np.unique(sid):
        pos = np.flatnonzero(sid == s)
        order = pos[np.argsort(t[pos], kind="stable")]
        for k, block in enumerate(fold_origins(np.arange(len(order)), folds, where)):
            out[order[block]] = k
    return out


def _fold_row(task, k, idx, got, fc, dates) -> dict[str, Any]:
    q, true, scale = got["q"][idx], got["true"][idx], got["scale"][idx]
    model = task.score(q, true, scale)
    base = {n: forecast_scores(f[idx][:, :, None], true, scale, None) for n, f in fc.items()}
    best = min(base, key=lambda n: base[n]["rmse"])
    ts = got["t"][idx]
    row = {"fold": k + 1, "windows": int(len(idx)), "first_t": int(ts.min()),
           "last_t": int(ts.max()), "model": model, "baselines": base, "best": best,
           "beats_best": bool(model["rmse"] < base[best]["rmse"])}
    if dates is not None and got["sid"][idx].max() == 0:
        row["period"] = f"{dates[ts.min()]} – {dates[ts.max()]}"
    return row


def score_folds(run: Run, folds: int) -> list[dict[str, Any]]:
    """Per-fold metrics of a trained run on its own test part (one batched pass)."""
    bundle = run.bundle
    ds = bundle.test
    if ds is None or len(ds) == 0:
        raise SpecError("the run's data has no test part to backtest on — set data.test > 0",
                        path="data.test")
    task = run.task_for(bundle)
    _needs_forecast(task)
    got = _passes(run, task, ds)
    fc, _, _ = task.baseline_forecasts(ds)
    fold = fold_of(got["t"], got["sid"], folds, f"the test part of {bundle.source}")
    dates = task.series.dates
    return [_fold_row(task, k, np.flatnonzero(fold == k), got, fc, dates) for k in range(folds)]


def _fold_spec(spec: Spec, k: int, folds: int) -> Spec:
    params = spec.data.dataset.params
    if params is None or "fold" not in type(params).model_fields:
        raise SpecError(f"dataset {spec.data.dataset.name!r} has no fold key, so it cannot be "
                        "retrained per fold", path="data.dataset")
    new = type(params).model_validate({**params.model_dump(), "fold": [k, folds]})
    data = spec.data.model_copy(update={"dataset": spec.data.dataset.model_copy(
        update={"params": new})})
    return spec.model_copy(update={"data": data})


def backtest(target: str | Path | Spec, folds: int, *, retrain: bool = False,
             out: str | Path | None = "runs", device: str | None = None,
             overrides: list[str] | None = None, quiet: bool = True) -> dict[str, Any]:
    """Backtest a run directory or a spec; see the module docstring. Returns the report
    (``folds``: one row per fold; ``dir``: where the files went)."""
    t0 = time.perf_counter()
    path = Path(target) if not isinstance(target, Spec) else None
    run = None
    if path is not None and path.is_dir():
        run = load_run(path, device=device or "cpu")
        spec = run.spec
    else:
        spec = target if isinstance(target, Spec) else load_spec(target, overrides=overrides)
    if retrain:
        rows = []
        for k in range(folds):
            fold_run = train(_fold_spec(spec, k, folds), out=None, device=device, quiet=quiet)
            rows.append(score_folds(fold_run, 1)[0] | {"fold": k + 1})
        where = Path(out or ".") / spec.name / f"backtest-{time.strftime('%Y%m%d-%H%M%S')}"
    else:
        if run is None:
            run = train(spec, out=out, device=device, quiet=quiet)
        rows = score_folds(run, folds)
        where = run.dir
    report = {"name": spec.name, "folds": rows, "retrain": retrain,
              "seconds": time.perf_counter() - t0}
    if where is not None:
        report["dir"] = str(write_report(report, Path(where)))
    return report


def write_report(report: dict[str, Any], where: Path) -> Path:
    import json

    from ..data.io.rows import write_rows

    where.mkdir(parents=True, exist_ok=True)
    (where / "backtest.json").write_text(json.dumps(report, indent=2, default=str))
    rows = []
    for r in report["folds"]:
        row = {"fold": r["fold"], "period": r.get("period", f"t={r['first_t']}–{r['last_t']}"),
               "windows": r["windows"], "best_baseline": r["best"]}
        row.update({f"model_{k}": round(v, 6) for k, v in r["model"].items()})
        row.update({f"{r['best']}_{k}": round(v, 6) for k, v in r["baselines"][r["best"]].items()})
        rows.append(row)
    write_rows(rows, where / "backtest.csv")
    fig, ax = figure(figsize=(7, 4))
    ks = [r["fold"] for r in report["folds"]]
    ax.plot(ks, [r["model"]["rmse"] for r in report["folds"]], marker="o", label="model",
            color="tab:blue")
    names = sorted({n for r in report["folds"] for n in r["baselines"]})
    for n, color in zip(names, BASELINE_COLORS):
        ax.plot(ks, [r["baselines"][n]["rmse"] for r in report["folds"]], marker=".",
                linestyle="--", alpha=0.8, label=n, color=color)
    ax.set_xlabel("fold (successive test blocks)")
    ax.set_ylabel("RMSE")
    ax.set_xticks(ks)
    ax.set_title(f"{report['name']}: backtest, {len(ks)} folds"
                 + (" (retrained per fold)" if report["retrain"] else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, where / "backtest.png")
    return where


__all__ = ["backtest", "score_folds", "fold_of", "write_report"]
