"""``seqforge export RUN``: a portable model (torch.export program or ONNX) + export.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from . import options
from .output import notes
from .predict import RunArg


def export(run_dir: RunArg,
           format: Annotated[str, typer.Option("--format", "-f", help="torch-export or onnx")] = "torch-export",
           out: Annotated[Optional[Path], typer.Option(help="Folder to write (default: RUN/export).")] = None,
           verbose: Annotated[bool, typer.Option(
               "--verbose", "-v", help="Show the exporter's own warnings and progress.")] = False):
    """Export a trained model to a portable format for serving without seqforge."""
    from ..export import FORMATS

    options.choice("--format", format, FORMATS, "export format")  # before loading anything
    from ..api import load_run
    from ..export import export_run

    r = load_run(run_dir)
    notes(r.notes)
    res = export_run(r, out or Path(run_dir) / "export", format, verbose=verbose)
    typer.echo(f"exported to {res['path']} in {res['seconds']:.1f} s (inputs and transforms "
               f"described in {res['meta']})")
    c = res["check"]
    if c["max_abs_diff"] is None:
        typer.echo(f"not checked: {c['note']}")
    else:
        shape = f"batch {c['batch']}" + (f", {c['steps']} steps" if c.get("steps") else "")
        typer.echo(f"checked with {c['runtime']} at {shape} (export saw batch "
                   f"{res['example'].shape[0]}"
                   + (f", {res['example'].shape[1]} steps" if c.get("steps") else "")
                   + f"): max |Δ| {c['max_abs_diff']:.2g} (tolerance {c['tolerance']['atol']:g}"
                   f" + {c['tolerance']['rtol']:g}·|y|)")


def register(app: typer.Typer) -> None:
    app.command()(export)
