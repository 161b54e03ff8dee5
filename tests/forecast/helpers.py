"""Small real-looking series as CSV files, and tiny specs around them (seconds to train)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def daily_csv(path: Path, rows: int = 240, seed: int = 0, level: float = 100.0,
              extra_text: bool = True) -> Path:
    """Date,Close,Ticker: a weekly cycle on a trend plus noise (a text column the model
    never reads)."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    v = level + 0.05 * level * np.sin(2 * np.pi * t / 7) + 0.02 * level * t / 30 \
        + 0.01 * level * rng.standard_normal(rows)
    days = np.datetime64("2020-01-01") + t
    head = "Date,Close" + (",Ticker" if extra_text else "")
    body = "".join(f"{d},{x:.5f}" + (",ACME" if extra_text else "") + "\n"
                   for d, x in zip(days, v))
    path.write_text(head + "\n" + body)
    return path


def long_csv(path: Path, stores: dict[str, float], rows: int = 120) -> Path:
    """store,date,sales — one series per store, at very different levels."""
    lines = ["store,date,sales"]
    for k, (name, level) in enumerate(stores.items()):
        rng = np.random.default_rng(k)
        t = np.arange(rows)
        v = level * (1 + 0.1 * np.sin(2 * np.pi * t / 7)) + 0.02 * level * rng.standard_normal(rows)
        days = np.datetime64("2021-01-01") + t
        lines += [f"{name},{d},{x:.4f}" for d, x in zip(days, v)]
    path.write_text("\n".join(lines) + "\n")
    return path


def spec(csv: Path, *, data: dict | None = None, task: Any = "forecast",
         **train: Any) -> dict[str, Any]:
    out = {
        "name": "fc_probe", "seed": 3,
        "data": {"dataset": "timeseries_csv", "source": str(csv), "target": "Close",
                 "window": 14, "val": 0.15, "test": 0.2, **(data or {})},
        "model": {"topology": "many_to_one", "cell": "gru", "hidden_size": 8},
        "task": task,
        "train": {"epochs": 2, "batch_size": 32, "threads": 1,
                  "optimizer": {"name": "adam", "lr": 0.01}, **train},
    }
    return out
