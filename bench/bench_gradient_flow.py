"""Benchmark: how much of the loss's gradient reaches the first step, per cell — at
initialisation, and over training (``train.diagnostics: [gradient_flow]``'s numbers).

  at init   every cell, one layer, hidden 32, its default parameters (``forget_bias``
            unset), on 16 adding-problem sequences of T = 100: the ratio
            ‖∂L/∂s_1‖ / ‖∂L/∂s_T‖ (s_t the whole state the cell carries after step t) and
            the same at t = T/2 — 1 means the first step hears the loss as well as the
            last, 1e-20 that it hears nothing; 0 is a gradient below float32's range
  training  LSTM and tanh RNN on the adding problem at T = 50 (hidden 64, Adam lr 1e-2,
            batch 32, forget_bias 1 for the LSTM): the same ratio and the validation MSE
            every 100 steps, for 1 000 steps

Benchmarks never assert; they print what was measured.

Usage::

    .venv/bin/python bench/bench_gradient_flow.py
    .venv/bin/python bench/bench_gradient_flow.py --quick      # at init only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from common import machine, table  # noqa: E402

import seqforge  # noqa: E402
from seqforge.api.build import build  # noqa: E402
from seqforge.engine.diagnostics import gradient_flow  # noqa: E402

CELLS = ("rnn", "lstm", "gru", "min_gru", "min_lstm", "lru", "rg_lru", "mlstm", "slstm", "qrnn")


def spec(cell: str, T: int, **train) -> dict:
    return {"name": f"flow_{cell}", "seed": 0,
            "data": {"dataset": "adding", "length": T, "n_train": 10_000 if train else 64,
                     "n_val": 256 if train else 0, "n_test": 256 if train else 0},
            "model": {"topology": "many_to_one", "cell": cell, "hidden_size": 64 if train else 32,
                      **({"forget_bias": 1.0} if train else {})},
            "task": "regress", "train": {"threads": 1, "device": "cpu", **train}}


def at_init(T: int = 100) -> list[list[str]]:
    rows = []
    for cell in CELLS:
        built = build(seqforge.load_spec(spec(cell, T)))
        built.task.fit(built.bundle.train)
        batch = built.bundle.collate([built.bundle.train[i] for i in range(16)])
        g = gradient_flow(built.model, built.task, batch)[0]["grad_norm"]
        rows.append([cell, f"{g[0] / g[-1]:.2g}", f"{g[T // 2] / g[-1]:.2g}"])
    return rows


def during_training(cell: str, T: int = 50, steps: int = 1000) -> list[str]:
    out = tempfile.mkdtemp()
    epochs = steps // 100
    run = seqforge.train(spec(cell, T, epochs=epochs, limit_train_batches=100, batch_size=32,
                              optimizer={"name": "adam", "lr": 1e-2}, clip_grad_norm=1.0,
                              diagnostics=[{"name": "gradient_flow",
                                            "epochs": list(range(1, epochs + 1))}]), out=out)
    flow = json.loads((run.dir / "gradient_flow.json").read_text())["records"]
    val = {r["epoch"]: r["val_mse"] for r in run.history}
    return [f"{r['grad_norm'][0] / r['grad_norm'][-1]:.1g} ({val[r['epoch']]:.3f})"
            for r in flow]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="at initialisation only")
    a = ap.parse_args()
    torch.set_num_threads(1)
    print(f"# gradient flow: ‖∂L/∂s_1‖ / ‖∂L/∂s_T‖\n{machine()}\n")
    print("at initialisation, adding problem T = 100, hidden 32, default parameters:\n")
    print(table(at_init(), ["cell", "‖∂L/∂s_1‖ / ‖∂L/∂s_T‖", "‖∂L/∂s_T/2‖ / ‖∂L/∂s_T‖"]))
    if a.quick:
        return
    print("\nover training, adding problem T = 50: ratio (validation MSE; constant "
          "baseline ≈ 0.17) after every 100 steps:\n")
    rows = [[cell] + during_training(cell) for cell in ("lstm", "rnn")]
    print(table(rows, ["cell"] + [f"{100 * k}" for k in range(1, len(rows[0]))]))


if __name__ == "__main__":
    main()
