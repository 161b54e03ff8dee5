"""seqforge vs Darts on the same GOOG split and recipe, side by side in one run.

(1) Training: the stock recipe — 60-step window, 4 stacked LSTM-50 layers, dropout 0.2,
batch 32, Adam, one-step-ahead forecasts of the opening price, seqforge's chronological
split (first 70 % train, 10 % validation, last 20 % = 209 days test). seqforge runs
``specs/stock_lstm.yaml`` (daily changes, standardised); Darts runs ``BlockRNNModel`` and
``RNNModel`` (LSTM) as its documentation does it (a ``Scaler`` — min-max — on the series,
``fit`` with the validation series). Same epochs for all; reported: test RMSE beside
persistence's, and seconds per epoch (validation included).

(2) Backtest speed: one-step forecasts over the 209 test days from an already trained
model of the same size — seqforge's batched backtest (``seqforge.api.backtest``, 5 folds)
against Darts' ``historical_forecasts(retrain=False)`` — and each beside one validation
pass of its own library over the same windows.

Darts is installed only for this benchmark, in its own virtual environment
(``bench/out/venv-darts``, made on first use: ``torch==2.13.0`` and ``darts[torch]``);
if that cannot be installed the Darts rows are skipped with a message. Both sides run
on the CPU at one thread.

Run: python bench/bench_darts.py [--epochs 10] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / "out" / "venv-darts"
WINDOW, HIDDEN, LAYERS, DROPOUT, BATCH, LR = 60, 50, 4, 0.2, 32, 1e-3


def darts_python() -> tuple[Path | None, str]:
    """The Darts venv's interpreter (made on first use), or None and why not."""
    py = VENV / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", "import darts"],
                                      capture_output=True).returncode == 0:
        return py, ""
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True)
        res = subprocess.run([str(py), "-m", "pip", "install", "-q", "torch==2.13.0",
                              "darts[torch]==0.48.1"], capture_output=True, text=True,
                             timeout=1800)
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"could not make {VENV}: {exc}"
    if res.returncode != 0:
        return None, f"pip could not install darts: {res.stderr.strip()[-300:]}"
    return py, ""


# -- the Darts side (runs inside the Darts venv: never imports seqforge) ----------------------

def darts_worker(csv: str, n_train: int, n_val: int, epochs: int) -> dict:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from darts import TimeSeries
    from darts.dataprocessing.transformers import Scaler
    from darts.models import BlockRNNModel, RNNModel

    values = np.loadtxt(csv, delimiter=",", skiprows=1, usecols=1)
    series = TimeSeries.from_values(values.astype(np.float32))
    train, val = series[:n_train], series[n_train - WINDOW:n_train + n_val]
    scaler = Scaler()
    train_s = scaler.fit_transform(train)
    val_s, full_s = scaler.transform(val), scaler.transform(series)
    test_start = n_train + n_val
    truth = values[test_start:]
    trainer = {"accelerator": "cpu", "enable_progress_bar": False, "logger": False,
               "enable_model_summary": False, "enable_checkpointing": False}
    common = dict(hidden_dim=HIDDEN, n_rnn_layers=LAYERS, dropout=DROPOUT, batch_size=BATCH,
                  n_epochs=epochs, optimizer_kwargs={"lr": LR}, random_state=0,
                  pl_trainer_kwargs=trainer)
    models = {
        "Darts BlockRNNModel (LSTM)": BlockRNNModel(model="LSTM", input_chunk_length=WINDOW,
                                                    output_chunk_length=1, **common),
        "Darts RNNModel (LSTM)": RNNModel(model="LSTM", input_chunk_length=WINDOW,
                                          training_length=WINDOW + 1, **common),
    }
    out = {}
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(train_s, val_series=val_s, verbose=False)
        fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        hf = model.historical_forecasts(full_s, start=test_start, forecast_horizon=1,
                                        retrain=False, last_points_only=True, verbose=False)
        hist_s = time.perf_counter() - t0
        pred = scaler.inverse_transform(hf).values()[:, 0]
        t0 = time.perf_counter()  # one validation pass over the same windows, for scale
        model.predict(n=1, series=[full_s[:t] for t in range(test_start, len(values))],
                      verbose=False)
        batch_s = time.perf_counter() - t0
        out[name] = {"rmse": float(np.sqrt(np.mean((pred - truth) ** 2))),
                     "s_per_epoch": fit / epochs, "backtest_s": hist_s,
                     "predict_batch_s": batch_s, "points": int(len(pred))}
    return out


# -- the seqforge side ------------------------------------------------------------------------

def seqforge_side(epochs: int, out: Path) -> tuple[dict, dict]:
    import torch

    import seqforge
    from seqforge.api.backtest import score_folds

    torch.set_num_threads(1)
    spec = seqforge.load_spec(ROOT / "specs" / "stock_lstm.yaml",
                              overrides=[f"train.epochs={epochs}", "train.threads=1",
                                         "train.device=cpu", "train.early_stopping=null"])
    run = seqforge.train(spec, out=out)
    s = run.summary
    epoch_s = [r["time_s"] for r in run.history]
    row = {"rmse": s["test"]["test_rmse"], "persistence": s["baselines"]["persistence"]["rmse"],
           "s_per_epoch": sum(epoch_s) / len(epoch_s), "points": len(run.bundle.test)}
    t0 = time.perf_counter()
    folds = score_folds(run, 5)
    row["backtest_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run.evaluate("test")
    row["predict_batch_s"] = time.perf_counter() - t0
    split = run.bundle.info.facets["series"]
    n = len(split.dates)
    n_test, n_val = round(0.2 * n), round(0.1 * n)
    return row, {"n_train": n - n_val - n_test, "n_val": n_val, "folds": len(folds)}


def _median_row(rows: list[dict]) -> dict:
    """Timings: the median over rounds; everything else (seeded): the first round's."""
    import statistics

    out = dict(rows[0])
    for key in ("s_per_epoch", "backtest_s", "predict_batch_s"):
        out[key] = statistics.median(r[key] for r in rows)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="2 epochs, 1 round")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    ap.add_argument("--darts-worker", nargs=4, metavar=("CSV", "N_TRAIN", "N_VAL", "EPOCHS"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.darts_worker:
        csv, n_train, n_val, epochs = args.darts_worker
        print(json.dumps(darts_worker(csv, int(n_train), int(n_val), int(epochs))))
        return
    epochs = 2 if args.quick else args.epochs
    args.rounds = 1 if args.quick else args.rounds
    sys.path.insert(0, str(HERE))
    from common import machine, table

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    py, why = darts_python()
    rounds: list[tuple[dict, dict]] = []
    with tempfile.TemporaryDirectory() as tmp:
        from seqforge.data.io.builtin_series import load_goog

        goog = load_goog(["Open"])
        csv = Path(tmp) / "goog.csv"
        csv.write_text("Date,Open\n" + "".join(f"{d},{float(v)!r}\n" for d, v in
                                                zip(goog.dates, goog.values[:, 0])))
        for k in range(args.rounds):  # the contenders alternate: machine noise hits both
            sf, split = seqforge_side(epochs, Path(tmp) / f"runs{k}")
            darts: dict = {}
            if py is not None:
                res = subprocess.run([str(py), __file__, "--darts-worker", str(csv),
                                      str(split["n_train"]), str(split["n_val"]), str(epochs)],
                                     capture_output=True, text=True,
                                     env={**os.environ, "OMP_NUM_THREADS": "1"})
                if res.returncode == 0:
                    darts = json.loads(res.stdout.strip().splitlines()[-1])
                else:
                    why = f"the Darts run failed: {res.stderr.strip()[-400:]}"
            rounds.append((sf, darts))
    sf = _median_row([r[0] for r in rounds])
    darts = {name: _median_row([r[1][name] for r in rounds]) for name in rounds[0][1]}
    print(f"# seqforge vs Darts — GOOG opening price, stock recipe ({LAYERS}×LSTM-{HIDDEN}, "
          f"window {WINDOW}, dropout {DROPOUT}, batch {BATCH}), {epochs} epochs, CPU, 1 thread, "
          f"median of {len(rounds)} alternating rounds")
    print(machine())
    print(f"split: {split['n_train']} train / {split['n_val']} val / {sf['points']} test days; "
          f"persistence test RMSE {sf['persistence']:.2f}")
    rows = [["seqforge (specs/stock_lstm.yaml)", f"{sf['rmse']:.2f}",
             f"{sf['rmse'] / sf['persistence']:.3f}×", f"{sf['s_per_epoch']:.2f} s", "1.00×"]]
    for name, d in darts.items():
        rows.append([name, f"{d['rmse']:.2f}", f"{d['rmse'] / sf['persistence']:.3f}×",
                     f"{d['s_per_epoch']:.2f} s", f"{d['s_per_epoch'] / sf['s_per_epoch']:.2f}×"])
    print(table(rows, ["model", "test RMSE", "vs persistence", "s / epoch",
                       "epoch time vs seqforge"]))
    rows = [["seqforge backtest (5 folds, batched)", f"{sf['points']}", f"{sf['backtest_s']:.3f} s",
             f"{sf['predict_batch_s']:.3f} s", f"{sf['backtest_s'] / sf['predict_batch_s']:.1f}×",
             "1.0×"]]
    for name, d in darts.items():
        rows.append([f"{name}.historical_forecasts", f"{d['points']}", f"{d['backtest_s']:.3f} s",
                     f"{d['predict_batch_s']:.3f} s",
                     f"{d['backtest_s'] / d['predict_batch_s']:.1f}×",
                     f"{d['backtest_s'] / sf['backtest_s']:.1f}×"])
    print(table(rows, ["backtest (one-step, trained model)", "forecasts", "time",
                       "one batched predict", "vs its own predict", "vs seqforge"]))
    if not darts:
        print(f"Darts rows skipped: {why}")


if __name__ == "__main__":
    main()
