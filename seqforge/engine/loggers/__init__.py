"""Loggers: callbacks that send each epoch's row somewhere besides ``metrics.jsonl``.

``train.loggers: [csv, tensorboard, mlflow]`` (options: :mod:`seqforge.spec.loggers`).
Each logs the per-epoch metrics (losses, the task's metrics, learning rate, gradient
norm), the resolved spec as hyperparameters, and the test metrics beside the baseline's
at the end. Their default locations are inside the run directory, so a run directory
still stands alone; without one (``train(..., out=None)``) only loggers given an explicit
location run.
"""

from __future__ import annotations

from typing import Any

from ..callbacks import Callback
from ..rundir import RunDir


class Logger(Callback):
    """A callback that owns an outside resource: :meth:`close` ends it (``status``:
    FINISHED, FAILED or KILLED), also when training stops on an error."""

    def __init__(self, options, run_dir: RunDir | None, resolved: dict[str, Any]):
        self.options, self.run_dir, self.resolved = options, run_dir, resolved

    def close(self, status: str = "FINISHED") -> None: ...


def flat_params(resolved: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"hidden_size": 50}}`` → ``{"model.hidden_size": 50}``; lists as text."""
    out: dict[str, Any] = {}
    for k, v in resolved.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flat_params(v, key + ".") if v else {key: "{}"})
        elif isinstance(v, (list, tuple)):
            out[key] = str(list(v))
        else:
            out[key] = v
    return out


def numbers(row: dict[str, Any]) -> dict[str, float]:
    """The finite numeric entries of a row (``epoch`` is the step, not a metric)."""
    import math

    return {k: float(v) for k, v in row.items() if k != "epoch"
            and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def make_loggers(options: list, run_dir: RunDir | None, resolved: dict[str, Any]) -> list[Logger]:
    """The loggers ``train.loggers`` names, for this run (directory)."""
    from .csv_logger import CsvLogger
    from .mlflow_logger import MlflowLogger
    from .tensorboard import TensorBoardLogger

    kinds = {"csv": CsvLogger, "tensorboard": TensorBoardLogger, "mlflow": MlflowLogger}
    out = []
    for opt in options:
        cls = kinds[opt.name]
        if run_dir is None and not cls.without_run_dir(opt):
            continue  # nowhere to write by default: out=None keeps nothing on disk
        out.append(cls(opt, run_dir, resolved))
    return out


def close_loggers(loggers: list[Logger], status: str) -> None:
    for lg in loggers:
        lg.close(status)


__all__ = ["Logger", "make_loggers", "close_loggers", "flat_params", "numbers"]
