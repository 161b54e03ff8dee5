"""``seqforge validate SPEC``: check a spec, then push one tiny batch through model and loss."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .options import SetOpt


def load(spec: Path, overrides):
    from ..spec.validate import load_spec

    return load_spec(spec, overrides=overrides or [])


def validate(spec: Annotated[Path, typer.Argument(help="The YAML spec.")],
             set_: SetOpt = None,
             dry_run: Annotated[bool, typer.Option(
                 "--dry-run/--no-dry-run", help="Push one tiny batch through model and loss.")] = True):
    """Check a spec (and, by default, one tiny batch through model and loss) without training."""
    s = load(spec, set_)
    typer.echo(f"{spec}: spec is valid ({s.task.name}: {s.model.cell.name} × "
               f"{s.model.num_layers} {s.model.topology.name} on {s.data.dataset.name})")
    if dry_run:
        from ..api import dry_run as _dry

        info = _dry(s)
        typer.echo(f"trial batch ok: {info['train_examples']} train / {info['val_examples']} val / "
                   f"{info['test_examples']} test examples, {info['parameters']:,} parameters, "
                   f"output {list(info['output_shape'])}, loss {info['loss']:.4g}")


def register(app: typer.Typer) -> None:
    app.command()(validate)
