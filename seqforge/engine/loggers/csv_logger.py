"""``csv``: ``metrics.csv`` in the run directory, one row per epoch (spreadsheets, pandas)."""

from __future__ import annotations

import csv
import io
from typing import Any

from ..checkpoint import atomic_write_text
from . import Logger


class CsvLogger(Logger):
    @staticmethod
    def without_run_dir(options) -> bool:
        return False

    def on_train_start(self, trainer) -> None:
        self.rows: list[dict[str, Any]] = list(trainer.state.history)  # a resumed run's past

    def on_epoch_end(self, trainer, epoch, row) -> None:
        self.rows.append(dict(row))
        # rewritten whole (a few KB): a column that appears later (skipped_batches) gets
        # a header, and a resumed run's file holds exactly its history
        columns = list(dict.fromkeys(k for r in self.rows for k in r))
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows(self.rows)
        atomic_write_text(self.run_dir.path / "metrics.csv", buf.getvalue())
