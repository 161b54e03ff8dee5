"""``seqforge runs [DIR]``: a table of the run directories under DIR (default ``runs``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import options
from .output import console, table


def runs(root: Annotated[Path, typer.Argument(help="Folder to search for run directories.")] = Path("runs"),
         name: Annotated[Optional[str], typer.Option(
             help="Only runs whose name contains this (or matches this glob: 'stock_*').")] = None,
         task: Annotated[Optional[str], typer.Option(help="Only runs of this task.")] = None,
         sort: Annotated[str, typer.Option(
             help="started (newest first), name, task, epochs, test, best or status")] = "started",
         reverse: Annotated[bool, typer.Option("--reverse", help="Reverse the order.")] = False,
         as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False):
    """List runs: name, start, task, epochs, best and test metric, baseline, beats it?"""
    from ..api.catalog import SORT_KEYS, list_runs

    options.choice("--sort", sort, SORT_KEYS, "sort key")
    records = list_runs(root, name=name, task=task, sort=sort, reverse=reverse)
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in records], indent=2))
        return
    if not records:
        what = " matching the filters" if name or task else ""
        typer.echo(f"no run directories{what} under {root}")
        return
    t = table(f"{len(records)} run(s) under {root}",
              [("run", "left"), ("started", "left"), ("task", "left"), ("epochs", "right"),
               ("best (monitor)", "right"), ("test", "right"), ("baseline", "right"),
               ("beats?", "left")])
    for r in records:
        t.add_row(f"{r.name}/{Path(r.path).name}", (r.started or "—")[:16], r.task or "—",
                  "—" if r.epochs is None else str(r.epochs),
                  "—" if r.best is None else f"{r.best:.4g} ({r.monitor})",
                  "—" if r.test is None else f"{r.metric} {r.test:.4g}",
                  "—" if r.baseline is None else f"{r.baseline:.4g} ({r.baseline_name})",
                  _verdict(r))
    out = console(wide=True)
    out.print(t)
    for r in records:
        for p in r.problems:
            out.print(f"{r.path}: {p}", markup=False, highlight=False)


def _verdict(r) -> str:
    if r.status != "finished":
        return r.status
    return "—" if r.beats is None else ("yes" if r.beats else "NO")


def register(app: typer.Typer) -> None:
    app.command()(runs)
