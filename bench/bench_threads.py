"""CPU thread policy: one intra-op thread vs. all cores, by recurrent step size.

For small recurrent models each time step is a handful of tiny matmuls; splitting them
across threads costs more in synchronisation than it saves, and on a shared 2-core
machine the second thread is also at the mercy of neighbours. This benchmark times a
training step (forward + backward) of an LSTM stack at several batch × hidden sizes with
1 thread and with all cores, alternating, and prints the ratio. ``threads: auto`` in
``seqforge/engine/device.py`` uses one thread below the measured cut-over
(``SMALL_STEP_FLOPS`` = batch · hidden · 4·hidden).

Run: python bench/bench_threads.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, median, table  # noqa: E402

SIZES = [(32, 50), (32, 128), (64, 256), (128, 512)]  # (batch, hidden)


def step_time(batch: int, hidden: int, threads: int, seq: int = 60, reps: int = 3) -> float:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(16, hidden, 2, batch_first=True)
    x = torch.randn(batch, seq, 16)
    lstm(x)[0].sum().backward()  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps):
        lstm.zero_grad()
        lstm(x)[0].sum().backward()
    return (time.perf_counter() - t0) / reps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeats = 2 if args.quick else args.repeats
    cores = os.cpu_count() or 1
    print("# threads: 1 vs", cores, "— LSTM 2 layers, 60 steps, training step")
    print(machine())
    rows = []
    for batch, hidden in (SIZES[:2] if args.quick else SIZES):
        one, many = [], []
        for _ in range(repeats):  # alternate so background load hits both
            one.append(step_time(batch, hidden, 1))
            many.append(step_time(batch, hidden, cores))
        work = batch * hidden * 4 * hidden
        r = median(many) / median(one)
        spread = max(many) / min(many)
        rows.append([f"{batch}×{hidden}", f"{work:,}", f"{median(one) * 1e3:.1f} ms",
                     f"{median(many) * 1e3:.1f} ms", f"{r:.2f}×", f"{spread:.2f}×"])
    print(table(rows, ["batch×hidden", "B·H·4H", "1 thread", f"{cores} threads",
                       f"{cores}-thread time / 1-thread", f"{cores}-thread max/min"]))


if __name__ == "__main__":
    main()
