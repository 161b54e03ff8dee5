"""Shared helpers for the benchmarks: machine description, robust timing, tables.

Benchmarks are not tests: they print ratios measured side by side in one run (the two
contenders alternate, so machine noise hits both alike) and never assert timings.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from datetime import date
from typing import Callable


def machine() -> str:
    import torch

    cpu = platform.processor() or "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{date.today()} · {cpu} · {os.cpu_count()} cores · Python {platform.python_version()}"
            f" · torch {torch.__version__} · threads {torch.get_num_threads()}")


def alternate(contenders: dict[str, Callable[[], float | None]], repeats: int) -> dict[str, list[float]]:
    """Run each contender once per round, round-robin; a contender returns its own time
    (or None to be timed from outside)."""
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            own = fn()
            times[name].append(own if own is not None else time.perf_counter() - t0)
    return times


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(r) for r in rows])
