"""``seqforge config SPEC``: the fully resolved spec — bases merged, overrides applied,
every default filled in — as the YAML a run directory records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .options import SetOpt
from .validate import load


def print_config(spec: Path, overrides) -> None:
    from ..spec.loader import dump_yaml

    typer.echo(dump_yaml(load(spec, overrides).resolved()), nl=False)


def config(spec: Annotated[Path, typer.Argument(help="The YAML spec.")], set_: SetOpt = None):
    """Print the fully resolved spec (extends merged, --set applied, every default filled in)."""
    print_config(spec, set_)


def register(app: typer.Typer) -> None:
    app.command()(config)
