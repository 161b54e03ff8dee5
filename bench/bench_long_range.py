"""Benchmark: which cells solve the adding problem at which lengths, within a fixed budget.

Every cell trains through ``seqforge.train`` — the ``adding`` dataset, the ``regress``
task, a ``many_to_one`` model — once per length T, with the same budget:

  model    one layer (``lru:2``: two), hidden H (default 64), the cell's default
           parameters, ``forget_bias: 1.0`` where the cell has a forget gate (lstm,
           min_lstm, slstm, qrnn) — not for mLSTM, whose reference initialisation of its
           forget gate (σ⁻¹ 3 … 6 across heads) ``forget_bias`` would replace
  train    Adam (lr 1e-2, the same for every cell, not tuned per cell), batch B (default
           32), gradient norm clipped at 1, one thread; at most N optimizer steps (default
           2000) and at most S seconds of training (default 30) per (cell, T), whichever
           ends first — CPU seconds of this process (``time.process_time``), so the
           load other users put on the shared machine does not shrink the budget; the
           validation MSE is read every E steps (default 100) and training
           stops once it is below half the bar (so the test score is not a coin toss at it)
  data     10 000 training sequences, 256 validation, 512 test, drawn once per T
           (``data_seed: 0``), the same for every cell
  solved   test MSE < 0.01 — 6 % of the constant baseline's ≈ 0.167 (predicting the
           expected sum 1); the test split is scored once, after training

A single LRU layer is a linear recurrence of its inputs followed by a nonlinear read-out,
so it cannot form value × marker products before summing them (the LRU paper stacks it
with MLPs): ``lru:2`` — two layers, the first one's GELU read-out feeding the second —
shows what depth adds.

The table shows, per (cell, T), the test MSE and the optimizer steps taken, marked
``✓`` (solved), ``·`` (not solved within the step budget) or ``⏱`` (not solved when the
time budget ran out — the cell's speed on this CPU decided). Each cell's longest solved
length follows. The time budget favours fast implementations on this CPU: a cell that
needs more CPU per step (sLSTM's sequential loop, GRU's) takes fewer steps in it
(``bench/bench_scaling.py`` measures the speeds).

Benchmarks never assert; they print what was measured.

Usage::

    .venv/bin/python bench/bench_long_range.py                 # 10 cells × T = 50 … 1000
    .venv/bin/python bench/bench_long_range.py --cells lstm,lru --lengths 100,200
    .venv/bin/python bench/bench_long_range.py --quick         # a smoke run
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from common import machine, table  # noqa: E402

import seqforge  # noqa: E402
from seqforge.engine.callbacks import Callback  # noqa: E402
from seqforge.errors import TrainingDiverged  # noqa: E402

CELLS = ("rnn", "lstm", "gru", "min_gru", "min_lstm", "lru", "lru:2", "rg_lru", "mlstm",
         "slstm", "qrnn")
LENGTHS = (50, 100, 200, 500, 1000)
BAR = 0.01
#: cells whose forget gate has a reference initialisation that forget_bias would replace
OWN_FORGET_INIT = ("mlstm",)


class Budget(Callback):
    """Stops training once the validation MSE is below half the bar, or when the CPU
    time is spent."""

    def __init__(self, seconds: float, bar: float):
        self.seconds, self.bar = seconds, bar
        self.t0 = time.process_time()
        self.timed_out = False

    def on_train_start(self, trainer) -> None:
        self.t0 = time.process_time()

    def on_epoch_end(self, trainer, epoch, row) -> None:
        if row.get("val_mse", float("inf")) < self.bar / 2:
            trainer.epochs = epoch  # the loop ends after this epoch
        elif time.process_time() - self.t0 > self.seconds:
            self.timed_out = epoch < trainer.epochs
            trainer.epochs = epoch


def spec_for(variant: str, T: int, a) -> dict:
    cell, _, layers = variant.partition(":")
    return {
        "name": f"adding_{cell}_{T}", "seed": 0,
        "data": {"dataset": "adding", "length": T, "n_train": 10_000, "n_val": 256,
                 "n_test": 512},
        "model": {"topology": "many_to_one", "cell": cell, "hidden_size": a.hidden,
                  "num_layers": int(layers or 1),
                  "forget_bias": None if cell in OWN_FORGET_INIT else 1.0},
        "task": "regress",
        "train": {"epochs": -(-a.steps // a.every), "limit_train_batches": a.every,
                  "batch_size": a.batch, "optimizer": {"name": "adam", "lr": a.lr},
                  "clip_grad_norm": 1.0, "threads": 1, "device": "cpu"},
    }


def run_one(cell: str, T: int, a) -> dict:
    budget = Budget(a.seconds, a.bar)
    t0 = time.process_time()
    try:
        run = seqforge.train(seqforge.load_spec(spec_for(cell, T, a)), out=None,
                             callbacks=[budget])
    except TrainingDiverged:  # NaN/inf loss: not solved, and said so
        return {"cell": cell, "T": T, "mse": float("nan"), "baseline": float("nan"),
                "steps": 0, "seconds": time.process_time() - t0, "solved": False,
                "timed_out": False, "diverged": True}
    s = run.summary
    mse = s["test"]["test_mse"]
    return {"cell": cell, "T": T, "mse": mse, "baseline": s["baseline"]["mse"],
            "steps": s["steps"], "seconds": time.process_time() - t0,
            "solved": mse < a.bar, "timed_out": budget.timed_out and not mse < a.bar}


def baseline_at(results: dict, cells: list[str], T: int) -> float:
    """The constant baseline's test MSE at T (the same data for every cell)."""
    return next((results[c, T]["baseline"] for c in cells if results[c, T]["steps"]),
                float("nan"))


def mark(r: dict) -> str:
    if r.get("diverged"):
        return "diverged"
    sign = "✓" if r["solved"] else ("⏱" if r["timed_out"] else "·")
    return f"{sign} {r['mse']:.3g} ({r['steps']})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default=",".join(CELLS))
    ap.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    ap.add_argument("--steps", type=int, default=2000, help="optimizer steps at most")
    ap.add_argument("--seconds", type=float, default=30.0, help="training CPU seconds at most")
    ap.add_argument("--every", type=int, default=100, help="steps between validations")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--bar", type=float, default=BAR, help="test MSE that counts as solved")
    ap.add_argument("--quick", action="store_true", help="smoke run: 3 cells, T = 50, 100, "
                    "300 steps")
    a = ap.parse_args()
    if a.quick:
        a.cells, a.lengths, a.steps = "rnn,lstm,rg_lru", "50,100", 300
    torch.set_num_threads(1)
    cells = [c for c in a.cells.split(",") if c]
    lengths = [int(t) for t in a.lengths.split(",") if t]
    print(f"# adding problem: which cells solve which lengths\n{machine()}\n"
          f"budget per (cell, T): ≤ {a.steps} steps and ≤ {a.seconds:g} CPU s of training, "
          f"batch {a.batch}, hidden {a.hidden}, Adam lr {a.lr:g}, clip 1.0; solved: test "
          f"MSE < {a.bar:g}; load average at the start "
          f"{' / '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)
    t_all = time.perf_counter()
    results: dict[tuple[str, int], dict] = {}
    for cell in cells:
        for T in lengths:
            r = results[cell, T] = run_one(cell, T, a)
            print(f"  {cell:10s} T={T:<5d} test MSE {r['mse']:.4f} (baseline "
                  f"{r['baseline']:.3f}) {r['steps']:5d} steps {r['seconds']:6.1f} CPU s "
                  f"{'solved' if r['solved'] else 'timed out' if r['timed_out'] else '-'}",
                  flush=True)
    rows = []
    for cell in cells:
        solved = [T for T in lengths if results[cell, T]["solved"]]
        rows.append([cell] + [mark(results[cell, T]) for T in lengths]
                    + [str(max(solved)) if solved else "none"])
    print()
    print(table(rows, ["cell"] + [f"T={T}" for T in lengths] + ["longest solved"]))
    print(f"\n✓ solved (test MSE < {a.bar:g}), · not solved in {a.steps} steps, ⏱ not solved "
          f"when {a.seconds:g} CPU s ran out; (n) = optimizer steps taken; lru:2 = two layers. "
          "Constant baseline (training mean) test MSE: "
          + ", ".join(f"T={T} {baseline_at(results, cells, T):.3f}" for T in lengths)
          + f". Total {time.perf_counter() - t_all:.0f} s wall, load average "
          f"{' / '.join(f'{v:.1f}' for v in os.getloadavg())} at the end.")


if __name__ == "__main__":
    main()
