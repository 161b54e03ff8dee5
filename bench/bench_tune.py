"""A small `seqforge tune` study with 1 and with 2 worker processes on one journal file:
trials (complete / pruned), best validation loss, wall time — and the 2-worker speed-up.

The study: the stock recipe cut down (1-layer model, 30-day window, 4 epochs of 8
batches), searching lr (log-uniform 1e-3…3e-2), hidden_size {8, 16, 32} and cell {lstm,
gru}, median pruning; 8 trials. Trial n samples with seed + n whichever worker runs it,
so both studies try comparable values. The 1- and 2-worker studies alternate when
repeated.

Run: python bench/bench_tune.py [--trials 8] [--repeats 1] [--quick]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, median, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

SPEC = """\
extends: {stock}
name: tune_bench
model: {{num_layers: 1, hidden_size: 16, dropout: 0.0}}
data: {{window: 30}}
train: {{epochs: 4, batch_size: 64, limit_train_batches: 8, threads: 1, early_stopping: null}}
tune:
  trials: {trials}
  pruner: {{name: median, n_startup_trials: 2, warmup_epochs: 1}}
  sampler: {{name: tpe, n_startup_trials: 4}}
  space:
    train.optimizer.lr: {{loguniform: [1.0e-3, 3.0e-2]}}
    model.hidden_size: {{choice: [8, 16, 32]}}
    model.cell: {{choice: [lstm, gru]}}
"""


def study(spec: Path, out: Path, workers: int) -> dict:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "seqforge", "tune", str(spec), "--out", str(out),
                    "--workers", str(workers), "-q"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - t0
    info = json.loads((out / "tune_bench" / "study.json").read_text())
    return {"wall": wall, "trials": info["trials"], "best": info["best"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    trials = 4 if args.quick else args.trials
    print(machine())
    results: dict[int, list[dict]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "tune.yaml"
        spec.write_text(SPEC.format(stock=ROOT / "specs" / "stock_lstm.yaml", trials=trials))
        for r in range(args.repeats):
            for workers in (1, 2):
                results[workers].append(study(spec, Path(tmp) / f"w{workers}-{r}", workers))
    rows = []
    for workers, runs in results.items():
        last = runs[-1]
        states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(last["trials"].items()))
        best = last["best"]
        rows.append([str(workers), states, f"{best['value']:.4g} (trial {best['number']})",
                     ", ".join(f"{k.rsplit('.', 1)[-1]}={v:.3g}" if isinstance(v, float) else
                               f"{k.rsplit('.', 1)[-1]}={v}" for k, v in best["params"].items()),
                     f"{median([x['wall'] for x in runs]):.1f}"])
    print(table(rows, ["workers", "trials", "best val_loss", "best values", "wall s"]))
    one, two = (median([x["wall"] for x in results[w]]) for w in (1, 2))
    print(f"2 workers: {one / two:.2f}x the speed of 1 on {os.cpu_count()} cores "
          f"({trials} trials, wall time includes each process's start)")


if __name__ == "__main__":
    main()
