"""Callbacks: hooks into the training loop for progress, logging and embedding programs.

A callback overrides any of the ``on_*`` methods. The engine calls them in order; the
progress display is just another callback.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class Callback:
    def on_train_start(self, trainer) -> None: ...
    def on_epoch_start(self, trainer, epoch: int) -> None: ...
    def on_batch_end(self, trainer, step: int, loss: float) -> None: ...
    def on_epoch_end(self, trainer, epoch: int, row: dict[str, Any]) -> None: ...
    def on_train_end(self, trainer, summary: dict[str, Any]) -> None: ...
    def on_message(self, trainer, text: str) -> None: ...


def _fmt(row: dict[str, Any], keys=None) -> str:
    parts = []
    for k, v in row.items():
        if k in ("epoch", "time_s", "lr", "steps") or (keys and k not in keys):
            continue
        if isinstance(v, float):
            parts.append(f"{k}={v:.4g}")
    return " ".join(parts)


class PlainLog(Callback):
    """One line per epoch — for logs, CI and anything that is not a terminal."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr

    def on_train_start(self, trainer) -> None:
        print(f"training {trainer.name}: {trainer.describe()}", file=self.stream, flush=True)

    def on_epoch_end(self, trainer, epoch, row) -> None:
        print(f"epoch {epoch}/{trainer.epochs} {_fmt(row)} ({row.get('time_s', 0):.1f}s)",
              file=self.stream, flush=True)

    def on_message(self, trainer, text) -> None:
        print(text, file=self.stream, flush=True)


class RichProgress(Callback):
    """A rich progress bar per epoch with loss, metrics and ETA (terminals only)."""

    def __init__(self, console=None):
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.progress = None
        self.task = None

    def on_train_start(self, trainer) -> None:
        self.console.print(f"[bold]training[/] {trainer.name}: {trainer.describe()}")

    def on_epoch_start(self, trainer, epoch) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn(f"epoch {epoch}/{trainer.epochs}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=self.console, transient=True)
        self.progress.start()
        self.task = self.progress.add_task("train", total=trainer.batches_per_epoch, loss="…")
        self._last = 0.0

    def on_batch_end(self, trainer, step, loss) -> None:
        now = time.monotonic()
        if self.progress is not None:
            self.progress.advance(self.task)
            if now - self._last > 0.1:
                self.progress.update(self.task, loss=f"{loss:.4g}")
                self._last = now

    def on_epoch_end(self, trainer, epoch, row) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        self.console.print(f"epoch {epoch}/{trainer.epochs} {_fmt(row)} "
                           f"[dim]({row.get('time_s', 0):.1f}s)[/]")

    def on_train_end(self, trainer, summary) -> None:
        if self.progress is not None:
            self.progress.stop()

    def on_message(self, trainer, text) -> None:
        from rich.markup import escape

        if text.startswith("warning: "):  # as the CLI prints warnings (cli/output.py)
            self.console.print(f"[bold yellow]warning:[/] {escape(text[9:])}")
        else:
            self.console.print(text)


def default_progress(quiet: bool = False) -> list[Callback]:
    if quiet:
        return []
    return [RichProgress()] if sys.stderr.isatty() else [PlainLog()]
