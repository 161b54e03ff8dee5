"""Embedding seqforge in another program: no CLI, no console output, a callback.

Run: python examples/embed_forecast.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile

import seqforge
from seqforge.engine.callbacks import Callback


class Collect(Callback):
    """Receives every epoch's metrics row — e.g. to feed another tool's dashboard."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def on_epoch_end(self, trainer, epoch, row) -> None:
        self.rows.append(row)


def main(out: str) -> None:
    spec = seqforge.load_spec({
        "name": "embedded",
        "seed": 1,
        "data": {"dataset": "timeseries_csv", "source": "builtin:goog", "target": "Close",
                 "inputs": ["Open", "High", "Low", "Close"], "window": 10},
        "model": {"topology": "many_to_one", "cell": "gru", "hidden_size": 8},
        "task": "forecast",
        "train": {"epochs": 2, "batch_size": 64},
    })
    collect = Collect()
    run = seqforge.train(spec, out=out, callbacks=[collect], quiet=True)
    assert len(collect.rows) == 2

    # later, elsewhere: load the run directory and predict
    loaded = seqforge.load_run(run.dir)
    rows = loaded.predict(loaded.bundle.test)
    print(f"epochs={len(collect.rows)} test_rmse={run.summary['test']['test_rmse']:.3f} "
          f"persistence_rmse={run.summary['baseline']['rmse']:.3f} first={rows[0]}")
    assert "seqforge.cli" not in sys.modules, "embedding must not need the CLI"


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
