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
           out: Annotated[Optional[Path], typer.Option(help="Folder to write (default: RUN/export).")] = None):
    """Export a trained model to a portable format for serving without seqforge."""
    from ..export import FORMATS

    options.choice("--format", format, FORMATS, "export format")  # before loading anything
    from ..api import load_run
    from ..export import export_run

    r = load_run(run_dir)
    notes(r.notes)
    res = export_run(r, out or Path(run_dir) / "export", format)
    typer.echo(f"exported to {res['path']} (inputs and transforms described in {res['meta']})")


def register(app: typer.Typer) -> None:
    app.command()(export)
