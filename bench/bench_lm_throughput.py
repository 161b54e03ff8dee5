"""(d) Char-LM training throughput against this machine's measured matmul rate.

A recurrent language model's training time is dominated by matrix multiplies: per token,
forward + backward cost ≈ 3 × 2 × (E·4H + H·4H + H·V) flops for an LSTM with embedding E,
hidden H and vocabulary V (input and recurrent gate projections, softmax head). This
benchmark (1) measures the machine's sustained matmul rate *at the model's own shapes*
— the batch-32 × H recurrent GEMM and the head — with plain torch.mm in a tight loop, and
(2) trains the shipped char-LM recipe (specs/char_lm.yaml settings, through seqforge's
engine) for a few hundred steps, then reports tokens/s and the fraction of the matmul-
bound rate achieved (goal: ≥ 80 %).

Run: python bench/bench_lm_throughput.py [--steps 60] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def matmul_rate(B: int, E: int, H: int, V: int, T: int, reps: int = 20) -> float:
    """Sustained flop/s of the model's own GEMMs (forward shapes; backward has the same sizes)."""
    import torch

    x = torch.randn(B * T, E)
    wi = torch.randn(E, 4 * H)
    h = torch.randn(B, H)
    wh = torch.randn(H, 4 * H)
    hs = torch.randn(B * T, H)
    wo = torch.randn(H, V)
    flops = 2 * (B * T * E * 4 * H + T * B * H * 4 * H + B * T * H * V)
    for _ in range(3):
        x @ wi
    t0 = time.perf_counter()
    for _ in range(reps):
        x @ wi  # the input projection, one GEMM over all steps
        for _ in range(T):  # the recurrence: T small GEMMs, as the LSTM kernel does
            h @ wh
        hs @ wo  # the softmax head
    return flops * reps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60, help="training batches to time")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    steps = 8 if args.quick else args.steps
    import torch

    import seqforge
    from seqforge.api import build
    from seqforge.api import make_trainer

    torch.set_num_threads(1)
    spec = seqforge.load_spec(ROOT / "specs" / "char_lm.yaml",
                              overrides=[f"train.limit_train_batches={steps}", "train.epochs=2",
                                         "data.max_chars=300000", "data.val=0.02",
                                         "data.test=0.02", "train.threads=1",
                                         "train.early_stopping=null"])
    built = build(spec)
    trainer = make_trainer(spec, built, torch.device("cpu"), run_dir=None)
    trainer.val_loader = None  # time training only
    B, T = spec.train.batch_size, built.bundle.train[0]["x"].shape[0]
    E, H, V = spec.model.embedding, spec.model.hidden_size, len(built.bundle.info.vocab)
    trainer._run_epoch(1)  # warm-up epoch
    t0 = time.perf_counter()
    trainer._run_epoch(2)
    elapsed = time.perf_counter() - t0
    tokens = steps * B * T
    tok_s = tokens / elapsed
    flops_per_token = 3 * 2 * (E * 4 * H + H * 4 * H + H * V)
    achieved = tok_s * flops_per_token
    peak = matmul_rate(B, E, H, V, T=min(T, 100))
    print(f"# char-LM training throughput (LSTM E={E} H={H} V={V}, batch {B}, "
          f"{T}-step rows, TBPTT {spec.train.bptt.truncate}, 1 thread)")
    print(machine())
    print(table([
        ["training", f"{tok_s:,.0f} tokens/s", f"{achieved / 1e9:.2f} GFLOP/s"],
        ["matmul-bound (same GEMM shapes)", f"{peak / flops_per_token:,.0f} tokens/s",
         f"{peak / 1e9:.2f} GFLOP/s"],
    ], ["", "rate", "flop rate"]))
    frac = achieved / peak
    print(f"training reaches {frac:.0%} of the matmul-bound rate "
          f"(goal ≥ 80%: {'met' if frac >= 0.8 else 'NOT met'})")


if __name__ == "__main__":
    main()
