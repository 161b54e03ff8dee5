"""``seqforge schema``: the JSON Schema of specs, for editor completion and checking."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def schema(out: Annotated[Optional[Path], typer.Option(help="Write to a file instead of stdout.")] = None):
    """Print the JSON Schema of the spec (for editor completion and checking)."""
    import json

    from ..spec.jsonschema import spec_json_schema

    text = json.dumps(spec_json_schema(), indent=2)
    if out:
        out.write_text(text + "\n")
    else:
        typer.echo(text)


def register(app: typer.Typer) -> None:
    app.command()(schema)
