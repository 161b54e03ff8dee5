"""The ``seqforge`` command line: a thin typer layer over :mod:`seqforge.api`.

One module per command; :mod:`seqforge.cli.app` holds the app, the error boundary and the
console-script entry point.
"""

from .app import app, main

__all__ = ["app", "main"]
