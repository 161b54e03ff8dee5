"""``seqforge backtest RUN_OR_SPEC --folds K [--retrain]``: rolling-origin evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from . import options
from .options import SetOpt
from .output import console, table


def backtest(target: Annotated[Path, typer.Argument(
                 help="A run directory (scored as trained) or a spec (trained once, or per "
                      "fold with --retrain).")],
             folds: Annotated[int, typer.Option(help="Successive test blocks to score.")] = 5,
             retrain: Annotated[bool, typer.Option(
                 "--retrain", help="Train a fresh model per fold on the rows before it.")] = False,
             set_: SetOpt = None,
             device: Annotated[Optional[str], typer.Option(help="auto, cpu, cuda or cuda:N")] = None,
             out: Annotated[Path, typer.Option(help="Root folder for run directories.")] = Path("runs"),
             quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False):
    """Score a forecast run on K successive test windows: per-fold metrics beside every
    baseline, a table, backtest.csv/.json and backtest.png."""
    options.at_least("--folds", folds, 1)
    if device is not None:
        options.device("--device", device)
    if not target.exists():
        raise options.OptionError("RUN_OR_SPEC", f"{str(target)!r} is neither a run directory "
                                                 "nor a spec file")
    if target.is_dir() and set_:
        raise options.OptionError("--set", "a run directory is scored as it was trained; --set "
                                           "applies to a spec")
    from ..api.backtest import backtest as run_backtest
    from ..errors import DataError

    try:
        report = run_backtest(target, folds, retrain=retrain, out=out, device=device,
                              overrides=set_, quiet=quiet)
    except DataError as exc:
        if exc.path == "data.fold":  # the fold count came from the command line
            raise options.OptionError("--folds", str(exc).split(": ", 1)[-1]) from None
        raise
    print_report(report)


def print_report(report: dict) -> None:
    """One row per fold, narrow enough for an 80-column terminal: the strongest
    baseline's name goes into the title when it is the same in every fold."""
    rows = report["folds"]
    names = {r["best"] for r in rows}
    same = len(names) == 1
    title = (f"{report['name']}: backtest, {len(rows)} folds"
             + (" (retrained per fold)" if report["retrain"] else "")
             + (f" — best baseline: {names.pop()}" if same else ""))
    cols = [("fold", "right"), ("from", "left"), ("windows", "right"), ("rmse", "right")]
    cols += [] if same else [("best baseline", "left")]
    cols += [("its rmse", "right"), ("mase", "right"), ("its mase", "right"), ("wins", "left")]
    t = table(title, cols)
    for r in rows:
        b = r["baselines"][r["best"]]
        start = r.get("period", f"t={r['first_t']}").split(" – ")[0]
        cells = [str(r["fold"]), start, str(r["windows"]), f"{r['model']['rmse']:.4g}"]
        cells += [] if same else [r["best"]]
        cells += [f"{b['rmse']:.4g}", f"{r['model']['mase']:.4g}", f"{b['mase']:.4g}",
                  "yes" if r["beats_best"] else "no"]
        t.add_row(*cells)
    out = console()
    out.print(t)
    won = sum(r["beats_best"] for r in rows)
    out.print(f"model beats the fold's best baseline in {won} of {len(rows)} folds "
              f"({report['seconds']:.1f} s)")
    if report.get("dir"):
        out.print(f"written: {Path(report['dir']) / 'backtest.csv'}, backtest.json, backtest.png")


def register(app: typer.Typer) -> None:
    app.command()(backtest)
