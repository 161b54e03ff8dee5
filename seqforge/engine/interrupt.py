"""Interrupts: SIGINT/SIGTERM finish the current step, write a checkpoint, and stop."""

from __future__ import annotations

import signal
from pathlib import Path


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived; a checkpoint was written at a step boundary."""

    def __init__(self, signum: int, checkpoint: Path | None):
        self.signum = signum
        self.checkpoint = checkpoint
        self.exit_code = 128 + signum  # 130 for SIGINT, 143 for SIGTERM
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
