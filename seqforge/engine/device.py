"""Device, precision, thread and compile policies.

Threads: for small recurrent models the per-step matmuls are tiny, and on this class of
2-core machine two intra-op threads were measured to be erratic — sometimes far slower
than one (synchronisation costs more than the split saves). ``threads: auto`` therefore
uses one thread when a step's gate matmul is small and all physical cores otherwise; the
cut-over comes from ``bench/bench_threads.py``.

Compile: ``torch.compile`` of recurrent step loops on CPU takes minutes to compile and was
measured slower than eager, so ``compile: auto`` never compiles on CPU. On CUDA it times a
few eager and compiled steps and keeps the faster (see :func:`choose_compiled`).
"""

from __future__ import annotations

import contextlib
import os
import time

import torch

#: gate-matmul work (batch × hidden × 4·hidden) below which one thread is faster here
SMALL_STEP_FLOPS = 2_000_000


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        from ..errors import SpecError

        raise SpecError("device 'cuda' was asked for but no CUDA GPU is available here "
                        "— use device: auto or cpu", path="train.device")
    return dev


def choose_threads(setting, batch_size: int, hidden_size: int) -> int:
    if setting != "auto":
        return int(setting)
    cores = os.cpu_count() or 1
    work = batch_size * hidden_size * 4 * hidden_size
    return 1 if work < SMALL_STEP_FLOPS else max(1, min(cores, 8))


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """None = full fp32. Mixed precision is a CUDA feature here; CPU stays fp32."""
    if device.type != "cuda":
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def choose_compiled(model, step_fn, policy: str, device: torch.device, trials: int = 3):
    """Return (model_to_use, decision text). ``step_fn(m)`` runs one training step."""
    if policy == "off":
        return model, "eager (compile: off)"
    if policy == "auto" and device.type != "cuda":
        return model, "eager (compile: auto — torch.compile is slower for RNN loops on CPU)"
    compiled = torch.compile(model)
    if policy == "on":
        return compiled, "compiled (compile: on)"

    def timed(m):
        step_fn(m)  # warm-up (and compilation, for the compiled model)
        torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        for _ in range(trials):
            step_fn(m)
        torch.cuda.synchronize(device)
        return (time.perf_counter() - t0) / trials

    eager_t, comp_t = timed(model), timed(compiled)
    if comp_t < eager_t:
        return compiled, f"compiled (auto: {comp_t * 1e3:.1f} ms/step vs eager {eager_t * 1e3:.1f})"
    return model, f"eager (auto: compiled {comp_t * 1e3:.1f} ms/step vs eager {eager_t * 1e3:.1f})"
