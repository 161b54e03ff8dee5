"""Early stopping and "best" tracking on one monitored metric."""

from __future__ import annotations

import math

from .state import LoopState


class EarlyStopping:
    """Tracks the best value of ``monitor`` in a :class:`LoopState`; says when to stop.

    ``patience=None`` never stops (best.pt is still chosen by the monitor).
    """

    def __init__(self, monitor: str, *, maximize: bool, patience: int | None = None,
                 min_delta: float = 0.0):
        self.monitor, self.maximize = monitor, maximize
        self.patience, self.min_delta = patience, min_delta

    def improved(self, value: float | None, best: float | None) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if best is None:
            return True
        return value > best + self.min_delta if self.maximize else value < best - self.min_delta

    def update(self, state: LoopState, row: dict, epoch: int) -> bool:
        """Record epoch ``epoch``'s row; True when it is the best so far."""
        value = row.get(self.monitor)
        if self.improved(value, state.best):
            state.best, state.best_epoch, state.bad_epochs = value, epoch, 0
            return True
        state.bad_epochs += 1
        return False

    def should_stop(self, state: LoopState) -> bool:
        return self.patience is not None and state.bad_epochs >= self.patience

    def message(self, state: LoopState) -> str:
        best = (f" (best {state.best:.4g} at epoch {state.best_epoch})"
                if state.best is not None else "")
        return (f"early stopping: {self.monitor} has not improved for {state.bad_epochs} "
                f"epochs{best}")
