"""The GPU check's measurements, one part per call; each writes a markdown fragment.

Parts (``python bench/gpu/gpu_bench.py PART --out FRAGMENT.md``):

  env      torch, CUDA, device, bf16 support
  cells    every registered cell on the device: the sequence path (the scan ``auto``
           picks there: log / recursive doubling / chunkwise) against the step loop on
           the same device — max |Δ| in float32 over T = 257 with padding and in float64,
           and whether the backward is finite
  stock    the stock recipe (4×LSTM-50, window 60, batch 32, Adam): seqforge's training
           step against a hand-written cuDNN ``nn.LSTM`` one, in fp32 and under bf16 /
           fp16 autocast (fp16 with a GradScaler), contenders alternating
  compile  what ``compile: auto`` decides for the stock recipe (it times eager and
           ``torch.compile`` steps and keeps the faster)
  scaling  T = 4096, B = 8, I = 32, H = 64: training and inference time of the scan cells
           and the modern cells (and their linear-scan variants) against ``nn.GRU``,
           peak memory from ``torch.cuda.max_memory_allocated``

``--device cpu --quick`` runs every part at toy sizes on a CPU, to check the script
itself where there is no GPU (its numbers then mean nothing). Benchmarks never assert.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from common import table  # noqa: E402


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timed_rounds(calls: dict, dev: torch.device, rounds: int) -> dict[str, list[float]]:
    """Seconds per call, contenders alternating round by round (after one warm-up each)."""
    for fn in calls.values():
        fn()
    times: dict[str, list[float]] = {n: [] for n in calls}
    for _ in range(rounds):
        for n, fn in calls.items():
            sync(dev)
            t0 = time.perf_counter()
            fn()
            sync(dev)
            times[n].append(time.perf_counter() - t0)
    return times


def ratio(ts: list[float], base: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(ts, base))


# -- env ------------------------------------------------------------------------------------------

def part_env(dev: torch.device, quick: bool) -> str:
    import seqforge

    rows = [["torch", torch.__version__], ["CUDA (torch built with)", str(torch.version.cuda)],
            ["cuDNN", str(torch.backends.cudnn.version())], ["seqforge", seqforge.__version__],
            ["device", str(dev)]]
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(dev)
        rows += [["GPU", p.name], ["GPU memory", f"{p.total_memory / 2**30:.0f} GiB"],
                 ["bf16 supported", str(torch.cuda.is_bf16_supported())]]
    return table(rows, ["what", "found"])


# -- cells ----------------------------------------------------------------------------------------

def _scan_of(cell) -> str:
    """What the cell's sequence path runs on its device (its default params)."""
    from seqforge.cells.diagonal import DiagonalScanParams, scan_method
    from seqforge.cells.fused import FusedKernelCell

    x = torch.zeros(1, device=next(cell.parameters()).device)
    if hasattr(cell, "scan_method"):
        return f"{cell.scan_method(x)} scan"
    if isinstance(cell.params, DiagonalScanParams):
        return f"{scan_method(cell.params, x)} scan"
    if hasattr(cell.params, "chunk_size"):
        return f"chunkwise ({cell.params.chunk_size} steps)"
    return "fused kernel" if isinstance(cell, FusedKernelCell) else "hoisted input + steps"


def part_cells(dev: torch.device, quick: bool) -> str:
    from seqforge.cells.base import step_loop
    from seqforge.plugins import get_registry

    B, T, I, H = (2, 9, 3, 4) if quick else (4, 257, 8, 16)  # noqa: E741
    rows = []
    for name in sorted(get_registry().entries["cell"]):
        cls = get_registry().get("cell", name)
        try:
            diffs = []
            for dtype, steps in ((torch.float32, T), (torch.float64, min(T, 64))):
                torch.manual_seed(0)
                cell = cls(I, H).to(dev, dtype)
                x = torch.randn(B, steps, I, device=dev, dtype=dtype, requires_grad=True)
                state = cell.initial_state(B)
                lengths = torch.tensor([steps] + [max(1, steps // 2)] * (B - 1))
                y, _ = cell.forward_sequence(x, state, lengths)
                with torch.no_grad():
                    y_ref, _ = step_loop(cell, x, state, lengths)
                diffs.append(float((y - y_ref).abs().max()))
                if dtype == torch.float32:
                    (grad,) = torch.autograd.grad(y.square().sum(), x)
                    finite = bool(torch.isfinite(grad).all())
            rows.append([name, _scan_of(cell), f"{diffs[0]:.1e}", f"{diffs[1]:.1e}",
                         "yes" if finite else "NO"])
        except Exception as exc:  # one cell's failure must not hide the others
            rows.append([name, "-", "-", "-", f"error: {type(exc).__name__}: {exc}"[:80]])
        print(rows[-1], flush=True)
    return (f"sequence path vs step loop on {dev}, B={B}, H={H}, padded rows\n\n"
            + table(rows, ["cell", "sequence path", f"fp32 max |Δ| (T={T})",
                           f"fp64 max |Δ| (T={min(T, 64)})", "backward finite"]))


# -- the stock recipe -------------------------------------------------------------------------------

def _stock(dev: torch.device, quick: bool):
    import seqforge
    from seqforge.api import build

    spec = seqforge.load_spec(ROOT / "specs" / "stock_lstm.yaml", overrides=[
        "train.epochs=1", "train.compile=auto", f"train.device={dev.type}"])
    built = build(spec)
    batch = built.bundle.collate([built.bundle.train[i] for i in range(32)])
    batch = {k: v.to(dev) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    return spec, built, batch


class _HandWritten(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 50, 4, dropout=0.2, batch_first=True)
        self.fc = nn.Linear(50, 1)

    def forward(self, x):
        h, _ = self.lstm(x)  # (B, W, H)
        return self.fc(h[:, -1])  # (B, 1)


def part_stock(dev: torch.device, quick: bool) -> str:
    spec, built, batch = _stock(dev, quick)
    task = built.task
    sf = built.model.to(dev).train()
    torch.manual_seed(0)
    hw = _HandWritten().to(dev).train()
    x, y = batch["x"], batch["y"].reshape(32, -1)[:, :1]
    rows = []
    for precision in ("fp32", "bf16", "fp16"):
        dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
        if dev.type != "cuda" and dtype is not None:
            rows.append([precision, "-", "-", "-", "CUDA only"])
            continue
        if dtype is torch.bfloat16 and not torch.cuda.is_bf16_supported():
            rows.append([precision, "-", "-", "-", "not supported here"])
            continue

        def make(model, loss_fn):
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            scaler = torch.amp.GradScaler("cuda") if dtype is torch.float16 else None

            def step():
                opt.zero_grad(set_to_none=True)
                with torch.autocast(dev.type, dtype=dtype, enabled=dtype is not None):
                    loss = loss_fn(model)
                if scaler is None:
                    loss.backward()
                    opt.step()
                else:
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
            return step

        calls = {"hand-written": make(hw, lambda m: nn.functional.mse_loss(m(x).float(), y)),
                 "seqforge": make(sf, lambda m: task.loss(m(batch)[0].float(), batch))}
        times = timed_rounds(calls, dev, 5 if quick else 30)
        hw_ms = statistics.median(times["hand-written"]) * 1e3
        sf_ms = statistics.median(times["seqforge"]) * 1e3
        rows.append([precision, f"{hw_ms:.2f} ms", f"{sf_ms:.2f} ms",
                     f"{ratio(times['seqforge'], times['hand-written']):.3f}×", ""])
        print(rows[-1], flush=True)
    return ("stock recipe training step (4×LSTM-50, window 60, batch 32, Adam), median of "
            "rounds; ratio = seqforge / hand-written cuDNN nn.LSTM in the same round\n\n"
            + table(rows, ["precision", "hand-written", "seqforge", "ratio", "note"]))


def part_compile(dev: torch.device, quick: bool) -> str:
    from seqforge.engine.loop import Trainer

    spec, built, _ = _stock(dev, quick)
    trainer = Trainer(spec, built.model, built.task, built.bundle, device=dev, run_dir=None)
    t0 = time.perf_counter()
    _, why = trainer._choose_compile()
    return (f"`compile: auto` on {dev}, stock recipe, precision {spec.train.precision} "
            f"(decided in {time.perf_counter() - t0:.0f} s, compilation included):\n\n"
            f"    {why}\n")


# -- scaling ----------------------------------------------------------------------------------------

#: (row, cell, params): the scan cells with their default scan on this device, the
#: linear-scan variants for comparison, and the modern cells
SCALING_ROWS = [
    ("gru", "gru", {}), ("lstm", "lstm", {}),
    ("min_gru", "min_gru", {}), ("min_gru linear", "min_gru", {"scan": "linear"}),
    ("min_lstm", "min_lstm", {}),
    ("lru", "lru", {}), ("lru linear", "lru", {"scan": "linear"}),
    ("rg_lru", "rg_lru", {}), ("rg_lru linear", "rg_lru", {"scan": "linear"}),
    ("qrnn", "qrnn", {}), ("mlstm", "mlstm", {}), ("mlstm chunk 256", "mlstm", {"chunk_size": 256}),
    ("slstm", "slstm", {}),
]


class _GRU(nn.Module):
    def __init__(self, I, H):  # noqa: E741
        super().__init__()
        self.rnn = nn.GRU(I, H, batch_first=True)

    def forward(self, x):
        return self.rnn(x)


def _peak_mib(fn, dev: torch.device) -> str:
    if dev.type != "cuda":
        return "-"
    sync(dev)
    base = torch.cuda.memory_allocated(dev)
    torch.cuda.reset_peak_memory_stats(dev)
    fn()
    sync(dev)
    return f"{(torch.cuda.max_memory_allocated(dev) - base) / 2**20:.0f}"


def part_scaling(dev: torch.device, quick: bool) -> str:
    from seqforge.plugins import get_registry
    from seqforge.recurrent import Recurrent

    B, T, I, H = (2, 64, 4, 8) if quick else (8, 4096, 32, 64)  # noqa: E741
    reg = get_registry()
    models = {"nn.GRU": _GRU(I, H)}
    for row, cell, params in SCALING_ROWS:
        cls = reg.get("cell", cell)
        models[row] = Recurrent(cls, I, H, cell_params=cls.Params(**params))
    models = {n: m.to(dev) for n, m in models.items()}
    x = torch.randn(B, T, I, device=dev)
    out: dict[str, dict[str, str]] = {n: {} for n in models}
    for kind in ("train", "infer"):
        def make(model):
            def train():
                for p in model.parameters():
                    p.grad = None
                model(x)[0].square().mean().backward()

            def infer():
                with torch.no_grad():
                    model(x)
            return train if kind == "train" else infer

        calls = {}
        for n, m in models.items():
            fn = make(m)
            try:
                out[n][f"{kind}_mib"] = _peak_mib(fn, dev)
                calls[n] = fn
            except Exception as exc:  # an OOM or a failing cell: report it, keep the rest
                out[n][kind] = f"error: {type(exc).__name__}"[:40]
        times = timed_rounds(calls, dev, 3 if quick else 5)
        for n, ts in times.items():
            out[n][kind] = f"{statistics.median(ts) * 1e3:.1f} ms"
            out[n][f"{kind}_x"] = f"{ratio(ts, times['nn.GRU']):.2f}×"
        print(kind, {n: out[n].get(kind) for n in models}, flush=True)
    rows = [[n, *(out[n].get(k, "-") for k in ("train", "train_x", "train_mib", "infer",
                                                "infer_x", "infer_mib"))] for n in models]
    return (f"T={T}, B={B}, I={I}, H={H}, one layer, fp32; ×nn.GRU = median over rounds of "
            "this time / nn.GRU's in the same round (below 1 is faster); MiB = peak allocated "
            "above what was allocated before the call\n\n"
            + table(rows, ["model", "train", "×nn.GRU", "train MiB", "infer", "×nn.GRU",
                           "infer MiB"]))


PARTS = {"env": part_env, "cells": part_cells, "stock": part_stock, "compile": part_compile,
         "scaling": part_scaling}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("part", choices=sorted(PARTS))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="toy sizes (a check of the script)")
    ap.add_argument("--out", required=True, help="markdown fragment to write")
    args = ap.parse_args()
    dev = torch.device(args.device)
    if dev.type == "cpu":
        torch.set_num_threads(1)  # a check of the script: keep it off a shared CPU's cores
    text = PARTS[args.part](dev, args.quick)
    Path(args.out).write_text(text.rstrip() + "\n")
    print(text)


if __name__ == "__main__":
    main()
