"""``seqforge predict RUN --input FILE``: predictions for new inputs, as CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from . import options
from .output import notes

RunArg = Annotated[Path, typer.Argument(help="A run directory (runs/NAME/TIMESTAMP).")]


def predict(run_dir: RunArg,
            input: Annotated[Path, typer.Option("--input", "-i", help="File of inputs, in the dataset's format.")],
            out: Annotated[Optional[Path], typer.Option(help="CSV to write (default: stdout).")] = None,
            device: options.DeviceOpt = "cpu"):
    """Predict with a trained run on a file of new inputs; predictions go to a CSV."""
    options.device("--device", device)
    if out is not None:
        options.distinct_output("--out", out, [input], run_dir)
    from ..api import load_run, predict_file

    r = load_run(run_dir, device=device)
    notes(r.notes)
    n = predict_file(r, input, out)
    if out:
        typer.echo(f"{n} predictions written to {out}")


def register(app: typer.Typer) -> None:
    app.command()(predict)
