"""Benchmark: how training, inference and generation cost grow with the sequence length T,
for every registered cell against torch's ``nn.LSTM`` (CPU, one thread).

Per T (256, 1024, 4096, 8192; ``--quick``: 256, 1024), B=8, I=32, H=64, one layer, each
cell through ``seqforge.recurrent.Recurrent`` (what training runs) with its default params:

  train   forward over (B, T, I) + mean-square loss + backward: ms per call
  infer   the forward alone under ``torch.no_grad()``
  ×LSTM   the median over rounds of (this time / nn.LSTM's time in the same round) —
          contenders alternate, one call each per round, so load on the machine hits both
          alike; below 1 is faster than nn.LSTM
  MiB     the peak resident memory the call adds: /proc/self/status VmHWM after the call
          minus VmRSS before it, the high-water mark reset just before
          (``/proc/self/clear_refs``) and glibc's free heap pages handed back to the OS
          (``malloc_trim``), so memory an earlier call freed is not already resident:
          what the call touches — activations kept for backward, temporaries, gradients,
          and what the allocator keeps between them — shows in its peak. One untimed
          call; Linux only ("-" elsewhere). (Pinning glibc's mmap threshold low would
          make the peak exactly that of live tensors, but every allocation would then
          fault fresh pages in, which costs the timed calls up to 2× here.)
  growth  time at the largest T / time at the smallest (linear in T: the T ratio)

Generation: µs per token from the step form (``Recurrent.step``, batch 1) after priming
the state with a prefix of P steps (P = each T), the fastest of 5 bursts of 16 tokens: a
recurrent cell's state has a fixed size (``state floats``: Σ ``state_sizes()`` per row),
so the cost per token must not grow with P.

Benchmarks never assert; they print what was measured.

Usage::

    .venv/bin/python bench/bench_scaling.py            # T = 256 … 8192
    .venv/bin/python bench/bench_scaling.py --quick    # T = 256, 1024
    .venv/bin/python bench/bench_scaling.py --cells lstm,mlstm --lengths 512
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import re
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from common import alternate, machine, table  # noqa: E402

from seqforge.plugins import get_registry  # noqa: E402
from seqforge.recurrent import Recurrent  # noqa: E402

BASELINE = "nn.LSTM"


class _LSTM(nn.Module):
    """torch's LSTM with Recurrent's call signature (x, state) -> (y, state)."""

    def __init__(self, I: int, H: int):  # noqa: E741
        super().__init__()
        self.rnn = nn.LSTM(I, H, batch_first=True)

    def forward(self, x, state=None):
        return self.rnn(x, state)

    def step(self, x_t, state):
        y, state = self.rnn(x_t.unsqueeze(1), state)
        return y[:, 0], state


def build(name: str, I: int, H: int) -> nn.Module:  # noqa: E741
    torch.manual_seed(0)
    if name == BASELINE:
        return _LSTM(I, H)
    return Recurrent(get_registry().get("cell", name), I, H)


def state_floats(model: nn.Module) -> int:
    if isinstance(model, _LSTM):
        return 2 * model.rnn.hidden_size
    return sum(sum(w) for w in model.state_sizes())


# -- memory ---------------------------------------------------------------------------------------

def _status_kib(key: str) -> int:
    return int(re.search(rf"{key}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def _release_free_memory() -> None:
    """Hand glibc's free heap pages back to the OS (``malloc_trim(0)``), so memory freed by
    an earlier call is not resident: whatever ``fn`` touches then shows in its peak."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_mib(fn) -> float | None:
    """Peak resident memory ``fn()`` adds (MiB), or None where /proc cannot say."""
    _release_free_memory()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        before = _status_kib("VmRSS")
        fn()
        return (_status_kib("VmHWM") - before) / 1024
    except (OSError, AttributeError):
        return None


# -- the calls --------------------------------------------------------------------------------------

def trainer(model: nn.Module, x: torch.Tensor):
    def step():
        for p in model.parameters():
            p.grad = None
        y, _ = model(x)
        y.square().mean().backward()
    return step


def inferrer(model: nn.Module, x: torch.Tensor):
    def run():
        with torch.no_grad():
            model(x)
    return run


def measure(names: list[str], T: int, B: int, I: int, H: int, rounds: int):  # noqa: E741
    """{name: {"train": s, "train_x": ratio, "train_mib": MiB, "infer": …}} at one T."""
    torch.manual_seed(0)
    x = torch.randn(B, T, I)
    models = {n: build(n, I, H) for n in names}
    out: dict[str, dict[str, float | None]] = {n: {} for n in names}
    for kind, make in (("train", trainer), ("infer", inferrer)):
        calls = {n: make(m, x) for n, m in models.items()}
        for n, fn in calls.items():
            fn()  # warm-up: first-call costs (kernel selection, TorchScript) are not T's
            out[n][f"{kind}_mib"] = peak_mib(fn)
        times = alternate(calls, rounds)
        base = times[BASELINE]
        for n, ts in times.items():
            out[n][kind] = statistics.median(ts)
            out[n][f"{kind}_x"] = statistics.median(a / b for a, b in zip(ts, base))
        print(f"  T={T} {kind}: " + ", ".join(f"{n} {out[n][kind] * 1e3:.0f} ms" for n in names),
              flush=True)
    return out


def generation(names: list[str], prefixes: list[int], I: int, H: int,  # noqa: E741
               tokens: int, bursts: int = 5) -> dict[str, dict[int, float]]:
    """µs per token after a prefix of P steps, per cell and P: the fastest of ``bursts``
    runs of ``tokens`` single steps (bursts a neighbour's process slowed down do not count;
    a cost that grew with P would show in every burst)."""
    out: dict[str, dict[int, float]] = {n: {} for n in names}
    with torch.no_grad():
        for n in names:
            model = build(n, I, H)
            for P in prefixes:
                torch.manual_seed(P)
                _, state = model(torch.randn(1, P, I))  # prime the state with the prefix
                xs = torch.randn(tokens, 1, I)
                model.step(xs[0], state)  # warm-up
                per_token = []
                for _ in range(bursts):
                    t0 = time.perf_counter()
                    for x_t in xs:
                        _, state = model.step(x_t, state)
                    per_token.append((time.perf_counter() - t0) / tokens * 1e6)
                out[n][P] = min(per_token)
    return out


# -- report ---------------------------------------------------------------------------------------

def _mib(v: float | None) -> str:
    return "-" if v is None else f"{max(v, 0.0):.0f}"


def report(results: dict[int, dict], gen: dict[str, dict[int, float]], names: list[str],
           lengths: list[int], floats: dict[str, int]) -> None:
    lo, hi = lengths[0], lengths[-1]
    for kind, what in (("train", "training step (forward + backward)"), ("infer", "inference")):
        rows = []
        for n in names:
            cells = [f"{results[T][n][kind] * 1e3:.1f} ms · {results[T][n][f'{kind}_x']:.2f}× · "
                     f"{_mib(results[T][n][f'{kind}_mib'])} MiB" for T in lengths]
            growth = results[hi][n][kind] / results[lo][n][kind] if hi != lo else 1.0
            rows.append([n, *cells, f"×{growth:.1f}"])
        print(f"\n{what}: time · ×nn.LSTM · peak MiB")
        print(table(rows, ["cell", *(f"T={T}" for T in lengths), f"growth (linear ×{hi // lo})"]))
    rows = [[n, f"{floats[n]:,}", *(f"{gen[n][P]:.0f}" for P in lengths)] for n in names]
    print("\ngeneration: µs per token (step form, batch 1) after a prefix of P steps")
    print(table(rows, ["cell", "state floats", *(f"P={P}" for P in lengths)]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="T = 256, 1024 only")
    ap.add_argument("--lengths", default=None, help="comma-separated T (default 256,1024,4096,8192)")
    ap.add_argument("--cells", default="", help="comma-separated cell names (default: all registered)")
    ap.add_argument("--skip", default="", help="comma-separated cell names to leave out")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--input", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=16, help="tokens per timed burst (5 bursts)")
    args = ap.parse_args(argv)
    lengths = [int(t) for t in (args.lengths or ("256,1024" if args.quick else
                                                 "256,1024,4096,8192")).split(",")]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    chosen = [s.strip() for s in args.cells.split(",") if s.strip()]
    names = [BASELINE] + [n for n in (chosen or sorted(get_registry().entries["cell"]))
                          if n not in skip and n != BASELINE]
    torch.set_num_threads(1)  # the engine's choice for steps this small (threads: auto)
    B, I, H = args.batch, args.input, args.hidden  # noqa: E741
    print(f"# scaling with T — B={B}, I={I}, H={H}, 1 layer, float32, median of {args.rounds} "
          "rounds (contenders alternate)")
    print(machine())
    memory = Path("/proc/self/clear_refs").exists()
    print("peak memory: " + ("VmHWM − VmRSS, after malloc_trim" if memory else "unavailable"))
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    t0 = time.perf_counter()
    results = {T: measure(names, T, B, I, H, args.rounds) for T in lengths}
    floats = {n: state_floats(build(n, I, H)) for n in names}
    gen = generation(names, lengths, I, H, args.tokens)
    report(results, gen, names, lengths, floats)
    print(f"\n{time.perf_counter() - t0:.0f} s; load average after: "
          "%.2f %.2f %.2f" % os.getloadavg())
    print("'×nn.LSTM' below 1 is faster than nn.LSTM; 'growth' near the T ratio is linear in "
          "T. On a shared machine absolute times move with the neighbours' load; the ratios, "
          "taken round by round, move less.")


if __name__ == "__main__":
    main()
