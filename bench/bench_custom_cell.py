"""Benchmark: how fast can a step-wise custom cell (a LayerNorm LSTM) train, vs ``nn.LSTM``?

The stock shapes: 4 stacked layers × hidden 50, 1 input feature (first layer), T=60,
B=32, dropout 0.2 between layers. One training step = forward + MSE loss on a linear head
over the last step's output + backward + Adam step. Each LN-LSTM row runs the *same*
``seqforge_extras.layernorm_lstm.LayerNormLSTMCell`` maths through ``seqforge.recurrent.
Recurrent`` (the engine's stack); only the way the sequence is run differs:

Rows
  nn.LSTM                 torch's native multi-layer LSTM (the baseline of every ratio)
  seqforge lstm           seqforge's built-in LSTM cell through Recurrent (_VF fast path)
  LN: eager step loop     ``step_loop``: cell.forward per step, autograd records each op
  LN: hoisted input proj  LN(W_ih x)+b for all steps as one (B·T, I)×(I, 4H) matmul + one
                          LayerNorm before the loop; the loop does the recurrent half only
  LN: TorchScript loop    hoisted + the recurrent loop ``torch.jit.script``-ed (autograd
                          through TorchScript's differentiable graphs)
  LN: BPTT fn / Python    hoisted + one ``autograd.Function``: graph-free forward loop that
                          saves gates/LN stats; hand-written reverse loop; dW_hh and the LN
                          gains reduced over all steps in one matmul / reduction each
                          (loops single-threaded, as in the default row)
  LN: BPTT fn / TS all thr  the same two loops compiled by TorchScript, run with all of
                          torch's intra-op threads (``loop_threads=0``)
  LN: BPTT fn / TorchScript  ... and with intra-op threads capped at 1 while the loops run
                          (``loop_threads=1``) — this is the cell's ``forward_sequence``
                          (the default); the hoisted input projection keeps every thread
  LN: fused C++ kernels   (``--cpp``) the same BPTT Function with each step's elementwise
                          work (LN, gates, cell, LN_c) fused into one hand-written C++ pass
                          next to the one mm — "fewer, larger kernels". Built with
                          ``torch.utils.cpp_extension.load_inline`` (needs g++; minutes
                          the first time, then cached); a ceiling, not the cell's default
  LN: torch.compile step  (``--compile``) step loop over a ``torch.compile``-d cell.forward,
                          run in a subprocess with a timeout; its compile time is reported

Ratios are "× nn.LSTM" = this row's time / nn.LSTM's time (lower is better; 2.00 = twice
as slow). Rows run round-robin — one training step of each, repeated — and each ratio is
the median over rounds of (row / nn.LSTM) in the same round, so load from other processes
on a shared machine hits numerator and denominator alike. The last column checks each
row's gradients against the eager step loop in float64 at the same shapes (dropout off).

Usage::

    .venv/bin/python bench/bench_custom_cell.py            # 1 and 2 threads, 15 rounds
    .venv/bin/python bench/bench_custom_cell.py --quick    # 4 rounds, a few seconds/row
    .venv/bin/python bench/bench_custom_cell.py --cpp      # also the fused C++ row
    .venv/bin/python bench/bench_custom_cell.py --compile  # also try torch.compile (slow)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "plugins" / "seqforge-extras" / "src"))

from seqforge.cells.base import step_loop  # noqa: E402
from seqforge.cells.lstm import LSTMCell  # noqa: E402
from seqforge.recurrent import Recurrent  # noqa: E402
from seqforge_extras import _lnlstm_bptt  # noqa: E402
from seqforge_extras.layernorm_lstm import LayerNormLSTMCell, LayerNormLSTMParams  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from custom_cell_cpp import FusedCppLN, load_cpp  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)  # torch.jit.script

B, T, I, H, LAYERS, DROPOUT = 32, 60, 1, 50, 4, 0.2  # noqa: E741


# -- the variants: the same cell, different ways of running a sequence ---------------------------

class EagerLN(LayerNormLSTMCell):
    """The readable step, stepped by the reference loop (autograd records every op)."""

    def forward_sequence(self, x, state, lengths=None):
        return step_loop(self, x, state, lengths)


class HoistedLN(LayerNormLSTMCell):
    """Input half hoisted out of the loop; the recurrent half stepped with autograd."""

    def forward_sequence(self, x, state, lengths=None):
        assert lengths is None
        xin = self.input_gates(x)  # (T, B, 4H)
        h, c = state
        G = 4 * self.hidden_size
        outs = []
        for x_t in xin.unbind(0):
            z = x_t + F.layer_norm(F.linear(h, self.weight_hh), (G,), self.ln_hh_weight,
                                   None, self.eps)
            i, f, g, o = z.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            cn = F.layer_norm(c, (self.hidden_size,), self.ln_c_weight, self.ln_c_bias, self.eps)
            h = torch.sigmoid(o) * torch.tanh(cn)
            outs.append(h)
        return torch.stack(outs, 1), (h, c)


def _ts_recurrence(xin: Tensor, w_hh: Tensor, g_hh: Tensor, g_c: Tensor, b_c: Tensor,
                   h: Tensor, c: Tensor, eps: float) -> Tuple[Tensor, Tensor, Tensor]:
    G = xin.size(2)
    H_ = G // 4
    outs: List[Tensor] = []
    w_t = w_hh.t()
    for x_t in xin.unbind(0):
        z = x_t + torch.layer_norm(torch.mm(h, w_t), [G], g_hh, None, eps)
        i, f, g, o = z.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(torch.layer_norm(c, [H_], g_c, b_c, eps))
        outs.append(h)
    return torch.stack(outs, 1), h, c


_TS: list = []


class TorchScriptLN(LayerNormLSTMCell):
    """Hoisted input half; the recurrent loop compiled by ``torch.jit.script`` and
    differentiated by TorchScript's autodiff."""

    def forward_sequence(self, x, state, lengths=None):
        assert lengths is None
        if not _TS:
            _TS.append(torch.jit.script(_ts_recurrence))
        y, h, c = _TS[0](self.input_gates(x), self.weight_hh, self.ln_hh_weight,
                         self.ln_c_weight, self.ln_c_bias, state[0], state[1], self.eps)
        return y, (h, c)


class BPTTPythonLN(LayerNormLSTMCell):
    """The hand-written BPTT autograd.Function with its loops run by the Python
    interpreter (``SEQFORGE_EXTRAS_JIT=0``)."""

    def forward_sequence(self, x, state, lengths=None):
        assert lengths is None
        y, h, c = _lnlstm_bptt.LNLSTMRecurrence.apply(
            F.linear(x.transpose(0, 1), self.weight_ih), self.ln_ih_weight,
            self.bias_ih + self.bias_hh, self.weight_hh, self.ln_hh_weight, self.ln_c_weight,
            self.ln_c_bias, state[0], state[1], None, self.eps, False,
            self.loop_threads(x.shape[0]))
        return y.transpose(0, 1), (h, c)


class CompiledStepLN(LayerNormLSTMCell):
    """``torch.compile`` of the step, stepped by the reference loop."""

    def forward_sequence(self, x, state, lengths=None):
        if not hasattr(self, "_compiled"):
            object.__setattr__(self, "_compiled", torch.compile(self.forward, dynamic=False))
        h, c = state
        outs = []
        for t in range(x.shape[1]):
            h, (h, c) = self._compiled(x[:, t], (h, c))
            outs.append(h)
        return torch.stack(outs, 1), (h, c)


class Model(nn.Module):
    """A recurrent stack + a linear head on the last step's output."""

    def __init__(self, rnn: nn.Module, native: bool = False):
        super().__init__()
        self.rnn, self.native = rnn, native
        self.head = nn.Linear(H, 1)

    def forward(self, x):
        y = self.rnn(x)[0]  # (B, T, H)
        return self.head(y[:, -1]), y


def ln_stack(cls: type[LayerNormLSTMCell], **params) -> Model:
    return Model(Recurrent(cls, I, H, LAYERS, dropout=DROPOUT,
                           cell_params=LayerNormLSTMParams(**params)))


VARIANTS: dict[str, Callable[[], Model]] = {
    "nn.LSTM": lambda: Model(nn.LSTM(I, H, LAYERS, dropout=DROPOUT, batch_first=True), True),
    "seqforge lstm (_VF)": lambda: Model(Recurrent(LSTMCell, I, H, LAYERS, dropout=DROPOUT)),
    "LN: eager step loop": lambda: ln_stack(EagerLN),
    "LN: hoisted input proj": lambda: ln_stack(HoistedLN),
    "LN: TorchScript loop": lambda: ln_stack(TorchScriptLN),
    "LN: BPTT fn / Python": lambda: ln_stack(BPTTPythonLN),
    "LN: BPTT fn / TS all thr": lambda: ln_stack(LayerNormLSTMCell, loop_threads=0),
    "LN: BPTT fn / TorchScript": lambda: ln_stack(LayerNormLSTMCell),
}
LN_ROWS = [k for k in VARIANTS if k.startswith("LN:")]
DEFAULT_ROW = "LN: BPTT fn / TorchScript"


# -- measuring ----------------------------------------------------------------------------------

def make_trainer(model: Model, x: Tensor, target: Tensor) -> Callable[[], None]:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        pred, _ = model(x)
        F.mse_loss(pred, target).backward()
        opt.step()

    return step


def time_rows(names: list[str], rounds: int, warmup: int) -> dict[str, dict[str, float]]:
    """Per row: ``ms`` (median wall ms), ``ratio`` (median over rounds of row / nn.LSTM wall
    time in the same round), ``best`` (fastest row step / fastest nn.LSTM step), ``cpu``
    (median per-round ratio of process CPU time) and ``first`` (ms of the first step).
    Rows are timed round-robin so load changes hit every row alike."""
    torch.manual_seed(0)
    x, target = torch.randn(B, T, I), torch.randn(B, 1)
    steps = {}
    first = {}
    for name in names:
        torch.manual_seed(0)
        steps[name] = make_trainer(VARIANTS[name]().train(), x, target)
        t0 = time.perf_counter()
        steps[name]()  # includes any compilation (TorchScript)
        first[name] = (time.perf_counter() - t0) * 1e3
        for _ in range(warmup):
            steps[name]()
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(rounds):
        for name in names:
            t0, c0 = time.perf_counter(), time.process_time()
            steps[name]()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    bw, bc = wall["nn.LSTM"], cpu["nn.LSTM"]
    return {n: {"ms": statistics.median(wall[n]) * 1e3,
                "ratio": statistics.median(a / b for a, b in zip(wall[n], bw)),
                "best": min(wall[n]) / min(bw),
                "cpu": statistics.median(a / max(b, 1e-9) for a, b in zip(cpu[n], bc)),
                "first": first[n]}
            for n in names}


def gradient_error(name: str) -> float:
    """max |grad - grad(eager step loop)| / max |grad(eager)| over all parameters, float64,
    dropout off, loss touching every output."""
    torch.manual_seed(1)
    x = torch.randn(B, T, I, dtype=torch.float64)
    w = torch.randn(B, T, H, dtype=torch.float64)
    grads = []
    for row in ("LN: eager step loop", name):
        torch.manual_seed(0)
        model = VARIANTS[row]().double().eval()
        with torch.no_grad():  # non-trivial LN gains / shifts
            for n, p in model.named_parameters():
                if "ln_" in n:
                    p.add_(0.1 * torch.randn_like(p))
        pred, y = model(x)
        (pred.square().mean() + (y * w).mean()).backward()
        grads.append([p.grad for p in model.parameters()])
    scale = max(float(g.abs().max()) for g in grads[0])
    return max(float((a - b).abs().max()) for a, b in zip(*grads)) / scale


def compile_worker(threads: int, rounds: int, budget_s: float) -> None:
    """Run in a subprocess: time the torch.compile-d step row; prints one result line."""
    torch.set_num_threads(threads)
    VARIANTS["LN: torch.compile step"] = lambda: ln_stack(CompiledStepLN)
    t0 = time.perf_counter()
    res = time_rows(["nn.LSTM", "LN: torch.compile step"], rounds, 1)["LN: torch.compile step"]
    print("RESULT " + " ".join(f"{k}={v:.6g}" for k, v in res.items())
          + f" total_s={time.perf_counter() - t0:.1f}", flush=True)


def run_compile_row(threads: int, rounds: int, timeout_s: float):
    cmd = [sys.executable, __file__, "--compile-worker", str(threads), "--rounds", str(rounds)]
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s).stdout
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0
    for line in out.splitlines():
        if line.startswith("RESULT"):
            res = dict((kv.split("=")[0], float(kv.split("=")[1])) for kv in line.split()[1:])
            res.pop("total_s", None)
            return res, time.perf_counter() - t0
    return None, time.perf_counter() - t0


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="4 rounds after 1 warm-up step")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds (default 15)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--skip", default="", help="comma-separated row names to leave out")
    ap.add_argument("--only", default="", help="comma-separated row names to run (+ nn.LSTM)")
    ap.add_argument("--cpp", action="store_true",
                    help="also time fused C++ step kernels (builds with load_inline; needs g++)")
    ap.add_argument("--compile", action="store_true",
                    help="also time torch.compile of the step (subprocess, with a timeout)")
    ap.add_argument("--compile-timeout", type=float, default=600.0)
    ap.add_argument("--compile-worker", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    rounds = args.rounds or (4 if args.quick else 15)
    warmup = 1 if args.quick else 3
    if args.compile_worker is not None:
        compile_worker(args.compile_worker, rounds, args.compile_timeout)
        return
    threads = [int(n) for n in args.threads.split(",")]
    cpp_note = None
    if args.cpp:
        try:
            cpp_note = f"fused C++ kernels built/loaded in {load_cpp()[1]:.0f} s"
            VARIANTS["LN: fused C++ kernels"] = lambda: ln_stack(FusedCppLN)
            LN_ROWS.append("LN: fused C++ kernels")
        except Exception as exc:  # no toolchain: say so, run the rest
            cpp_note = f"fused C++ kernels unavailable: {type(exc).__name__}: {exc}"[:300]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    names = [n for n in VARIANTS
             if n == "nn.LSTM" or (n not in skip and (not only or n in only))]

    print(f"torch {torch.__version__}, python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average before: {load_average()}")
    print(f"{LAYERS} layers x H={H}, I={I}, T={T}, B={B}, dropout {DROPOUT}, float32; train step "
          f"= fwd + MSE(head(y[:, -1])) + bwd + Adam; median of {rounds} rounds "
          f"after {warmup} warm-up")
    results: dict[int, dict] = {}
    for n in threads:
        torch.set_num_threads(n)
        results[n] = time_rows(names, rounds, warmup)
        if args.compile:
            res, wall = run_compile_row(n, max(3, rounds // 3), args.compile_timeout)
            if res:
                results[n]["LN: torch.compile step"] = res
            results[n]["_compile_wall"] = wall
    errors = {n: gradient_error(n) for n in names if n in LN_ROWS and n != "LN: eager step loop"}
    errors["LN: eager step loop"] = 0.0
    print(f"load average after: {load_average()}\n")

    rows = names + (["LN: torch.compile step"] if args.compile else [])
    W = 36
    head = f"{'':<26}" + "".join(f"{f'--- {n} thread' + ('s' if n > 1 else '') + ' ---':^{W}}"
                                 for n in threads)
    sub = f"{'row':<26}" + f"{'ms/step':>9}{'× nn.LSTM':>10}{'min×':>8}{'cpu×':>8} " * len(threads)
    print(head)
    print(sub + f"{'1st ms':>8}{'grad err':>10}")
    print("-" * (len(sub) + 18))
    for row in rows:
        line = f"{row:<26}"
        for n in threads:
            r = results[n].get(row)
            line += (f"{r['ms']:9.1f}{r['ratio']:9.2f}x{r['best']:7.2f}x{r['cpu']:7.2f}x "
                     if r else f"{'timeout':>9}{'-':>10}{'-':>8}{'-':>8} ")
        r1 = results[threads[0]].get(row)
        line += f"{r1['first']:8.0f}" if r1 else f"{'-':>8}"
        err = errors.get(row)
        line += f"{err:10.1e}" if err is not None else f"{'-':>10}"
        print(line)
    print("\n'× nn.LSTM': median over rounds of (row wall time / nn.LSTM wall time in the same "
          "round); lower is better.\n'min×': fastest step of the row / fastest nn.LSTM step. "
          "'cpu×': the same median ratio in process CPU time\n(less sensitive to other "
          "processes on a shared machine). '1st ms': first training step at "
          f"{threads[0]} thread(s)\n(includes TorchScript compilation). 'grad err': "
          "max |Δ grad| / max |grad| vs the eager step loop, float64, stock shapes.")
    if cpp_note:
        print(cpp_note)
    for n in threads:
        if "_compile_wall" in results[n]:
            print(f"torch.compile row, {n} thread(s): subprocess took "
                  f"{results[n]['_compile_wall']:.0f} s (timeout {args.compile_timeout:.0f} s)")
    d = [results[n][DEFAULT_ROW]["ratio"] for n in threads if DEFAULT_ROW in results[n]]
    if d:
        print(f"\nforward_sequence of layernorm_lstm ({DEFAULT_ROW!r}): "
              + ", ".join(f"{r:.2f}x nn.LSTM at {n} thread(s)" for n, r in zip(threads, d)))


if __name__ == "__main__":
    main()
