"""Benchmark: training step time of the parallel-scan cells against ``nn.GRU`` (CPU).

One training step = forward over (B, T, I) + mean-square loss + backward (parameter
gradients accumulate; they are zeroed between steps). For each configuration: a few
warm-up steps, then the median of N timed steps. Everything runs in one process, side
by side, at 1 and 2 threads (``torch.set_num_threads``), so the ratios compare like
with like on this machine.

Rows
  nn.GRU            torch's fused GRU (the baseline of every ratio)
  min_gru linear    MinGRUCell.forward_sequence, scan="linear" (the CPU default)
  min_gru log/64    scan="log", chunk_size=64 (paper's log-space scan in 64-step chunks)
  min_gru log       scan="log", chunk_size=0 (the paper's Listing, whole sequence)
  min_lstm linear   MinLSTMCell, scan="linear"
  min_lstm log/64   MinLSTMCell, scan="log", chunk_size=64
  min_gru step      the same cell stepped one x_t at a time (seqforge.cells.base.step_loop)

Usage::

    .venv/bin/python bench/bench_scan.py            # T=256 and 1024, B=16, I=32, H=128
    .venv/bin/python bench/bench_scan.py --quick    # tiny sizes, a few seconds
"""

from __future__ import annotations

import argparse
from os import cpu_count
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqforge.cells.base import step_loop  # noqa: E402
from seqforge.cells.min_gru import MinGRUCell  # noqa: E402
from seqforge.cells.min_lstm import MinLSTMCell  # noqa: E402


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


class _GRU(nn.Module):
    def __init__(self, I: int, H: int):  # noqa: E741
        super().__init__()
        self.rnn = nn.GRU(I, H, batch_first=True)

    def forward(self, x):
        return self.rnn(x)[0]


class _Cell(nn.Module):
    def __init__(self, cell, step: bool = False):
        super().__init__()
        self.cell, self.step = cell, step

    def forward(self, x):
        state = self.cell.initial_state(x.shape[0])
        fn = step_loop if self.step else self.cell.forward_sequence
        return fn(self.cell, x, state)[0] if self.step else fn(x, state)[0]


def models(I: int, H: int) -> dict[str, Callable[[], nn.Module]]:  # noqa: E741
    P_gru, P_lstm = MinGRUCell.Params, MinLSTMCell.Params
    return {
        "nn.GRU": lambda: _GRU(I, H),
        "min_gru linear": lambda: _Cell(MinGRUCell(I, H, P_gru(scan="linear"))),
        "min_gru log/64": lambda: _Cell(MinGRUCell(I, H, P_gru(scan="log", chunk_size=64))),
        "min_gru log": lambda: _Cell(MinGRUCell(I, H, P_gru(scan="log", chunk_size=0))),
        "min_lstm linear": lambda: _Cell(MinLSTMCell(I, H, P_lstm(scan="linear"))),
        "min_lstm log/64": lambda: _Cell(MinLSTMCell(I, H, P_lstm(scan="log", chunk_size=64))),
        "min_gru step": lambda: _Cell(MinGRUCell(I, H), step=True),
    }


def time_training(models: dict[str, nn.Module], x: torch.Tensor, warmup: int,
                  iters: int) -> dict[str, float]:
    """Median seconds of one forward + backward, per model.

    The models are timed round-robin (one step of each, N times), not one after the
    other, so a change in machine load over the run hits every model alike."""

    def step(model):
        for p in model.parameters():
            p.grad = None
        y = model(x)
        y.square().mean().backward()

    for model in models.values():
        for _ in range(warmup):
            step(model)
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(iters):
        for name, model in models.items():
            t0 = time.perf_counter()
            step(model)
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 1 warm-up, 3 steps")
    ap.add_argument("--lengths", default=None, help="comma-separated T (default 256,1024)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--input", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--iters", type=int, default=None)
    ap.add_argument("--skip", default="", help="comma-separated row names to leave out")
    args = ap.parse_args(argv)
    if args.quick:
        B, I, H = 4, 8, 16  # noqa: E741
        lengths = [int(t) for t in (args.lengths or "64").split(",")]
        warmup, iters = args.warmup or 1, args.iters or 3
    else:
        B, I, H = args.batch, args.input, args.hidden  # noqa: E741
        lengths = [int(t) for t in (args.lengths or "256,1024").split(",")]
        warmup, iters = args.warmup or 2, args.iters or 7
    threads = [int(n) for n in args.threads.split(",")]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    print(f"torch {torch.__version__}, python {platform.python_version()}, "
          f"CPU: {cpu_model()} ({torch.get_num_threads()} threads available by default)")
    print(f"B={B}, I={I}, H={H}, float32; training step = forward + backward; "
          f"median of {iters} after {warmup} warm-up; {cpu_count()} CPUs, "
          f"load average before: {load_average()}")
    busy = _load() > (cpu_count() or 1)
    if busy:
        print("WARNING: the machine is busy (load average above the CPU count): absolute "
              "times are inflated; the ratios (timed round-robin) suffer less, but 2-thread "
              "runs suffer most (OpenMP threads wait for descheduled peers).")
    rows = []
    for n in threads:
        torch.set_num_threads(n)
        for T in lengths:
            torch.manual_seed(0)
            x = torch.randn(B, T, I)
            built = {}
            for name, make in models(I, H).items():
                if name not in skip:
                    torch.manual_seed(0)
                    built[name] = make()
            for name, secs in time_training(built, x, warmup, iters).items():
                rows.append((n, T, name, secs))
                print(f"  threads={n} T={T} {name}: {secs * 1e3:.1f} ms", flush=True)
    print(f"load average (1/5/15 min) after: {load_average()}")

    print()
    head = f"{'threads':>7} {'T':>5}  {'model':<16} {'ms/step':>9} {'vs nn.GRU':>9} {'k tok/s':>8}"
    print(head)
    print("-" * len(head))
    for n in threads:
        for T in lengths:
            sel = [r for r in rows if r[0] == n and r[1] == T]
            base = next((s for _, _, m, s in sel if m == "nn.GRU"), None)
            for _, _, name, secs in sel:
                ratio = f"{base / secs:8.2f}x" if base else "        -"
                print(f"{n:>7} {T:>5}  {name:<16} {secs * 1e3:>9.1f} {ratio:>9} "
                      f"{B * T / secs / 1e3:>8.1f}")
    print("\n'vs nn.GRU' = nn.GRU time / this time: above 1 is faster than nn.GRU.")


if __name__ == "__main__":
    main()
