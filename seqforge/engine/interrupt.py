"""Interrupts: SIGINT/SIGTERM finish the current step, write a checkpoint, and stop."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived; a checkpoint was written at a step boundary."""

    def __init__(self, signum: int, checkpoint: Path | None):
        self.signum = signum
        self.checkpoint = checkpoint
        self.exit_code = 128 + signum  # 130 for SIGINT, 143 for SIGTERM
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


class InterruptFlag:
    """Set by the signal handler; the loop checks it at step boundaries."""

    def __init__(self, notify: Callable[[str], None] | None = None):
        self.signum: int | None = None
        self.notify = notify
        self.deferring = False  # a checkpoint is being written: never stop in its middle
        self.stop_now = False  # a second signal arrived while deferring

    def __bool__(self) -> bool:
        return self.signum is not None

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Inside, a second signal does not stop the process mid-write; it is honoured as
        soon as the block (a checkpoint write) has finished."""
        was, self.deferring = self.deferring, True
        try:
            yield
        finally:
            self.deferring = was


@contextmanager
def catch_signals(notify: Callable[[str], None] | None = None) -> Iterator[InterruptFlag]:
    """SIGINT/SIGTERM set the yielded flag instead of stopping the process; a second
    signal stops at once (KeyboardInterrupt). Previous handlers are restored on exit.
    Off the main thread (where Python cannot install handlers) the flag never sets."""
    flag = InterruptFlag(notify)
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    old: dict[int, Any] = {}

    def handler(signum, frame):
        if flag.signum is not None:  # second signal: stop now — unless mid-checkpoint
            if flag.deferring:
                flag.stop_now = True
                return
            signal.signal(signum, old.get(signum, signal.SIG_DFL))
            raise KeyboardInterrupt
        flag.signum = signum
        if flag.notify is not None:
            try:
                flag.notify(f"{signal.Signals(signum).name} received: finishing this step, "
                            "then writing a checkpoint (again: stop at once)…")
            except RuntimeError:  # the signal landed inside a print to the same stream
                pass

    for s in (signal.SIGINT, signal.SIGTERM):
        old[s] = signal.signal(s, handler)
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextmanager
def stop_on_signal() -> Iterator[None]:
    """Before training starts (reading data, building the model) there is nothing to save:
    SIGINT/SIGTERM stop at once as :class:`Interrupted` with no checkpoint, so the caller
    says so instead of dying silently."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(signum, None)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
