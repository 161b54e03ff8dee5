"""``seqforge evaluate RUN``: a run's metrics on a split or on other data, baseline beside."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import options
from .output import baselines_line, console, horizon_table, metric_table, notes
from .predict import RunArg


def evaluate(run_dir: RunArg,
             split: Annotated[str, typer.Option(help="train, val or test")] = "test",
             data: Annotated[Optional[list[str]], typer.Option(
                 "--data", help="Override a data key, e.g. --data source=other.csv")] = None,
             device: options.DeviceOpt = "cpu"):
    """Score a trained run on a split (or other data), with its baseline beside it."""
    options.choice("--split", split, options.SPLITS, "split")
    options.device("--device", device)
    from ..api import evaluate_run

    res = evaluate_run(run_dir, split=split, data=data or [], device=device)
    notes(res.get("notes", []))
    out = console()
    out.print(metric_table(f"{run_dir} — {split}", res["model"], f"{split}_", res["baseline"],
                           res.get("baselines")))
    steps = horizon_table(res["model"], f"{split}_", res["baseline"])
    if steps is not None:
        out.print(steps)
    line = baselines_line(res.get("baselines", []), res["baseline"], res.get("headline"))
    if line:
        out.print(line, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(evaluate)
