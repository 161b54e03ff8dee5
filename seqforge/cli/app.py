"""The typer app, its error boundary, and the console-script entry point.

Heavy imports (torch, the engine) happen inside commands, so ``seqforge --help`` stays
fast. Bad input of any kind — spec, data, run directory, option value — prints one clear
paragraph and exits with status 2; no traceback reaches the user. That rule is enforced
once, here, for every command (a plugin's included): :class:`_Commands` catches
:class:`~seqforge.errors.SeqforgeError` around whatever command runs.
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from ..version import __version__
from ..errors import SeqforgeError
from .output import fail


class _Commands(TyperGroup):
    """Every sub-command runs inside one error boundary: a SeqforgeError, or an OS error on
    a path the user gave (``--out`` naming a file, an unwritable folder, a missing parent),
    is one message and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SeqforgeError as exc:
            fail(exc)
        except OSError as exc:
            if exc.filename is None:  # not about a path: a real fault, not bad input
                raise
            fail(PathError(exc))


class PathError(SeqforgeError):
    """An OS error on a path, in a user's words: the path and the reason."""

    def __init__(self, exc: OSError):
        where = exc.filename if exc.filename2 is None else f"{exc.filename} → {exc.filename2}"
        super().__init__(f"{where}: {_REASONS.get(type(exc), exc.strerror or str(exc))}")


_REASONS = {
    FileNotFoundError: "no such file or directory (does the folder exist?)",
    IsADirectoryError: "is a directory — give a file name",
    NotADirectoryError: "a part of this path is a file, not a directory",
    FileExistsError: "already exists and is not a directory",
    PermissionError: "permission denied — choose a folder you can write to",
}


app = typer.Typer(
    name="seqforge",
    cls=_Commands,
    help="Recurrent sequence models (RNN, LSTM, GRU …) declared in YAML: validate, train, "
         "predict, generate.",
    epilog="Installed plugins may add commands: `seqforge plugins` lists them.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish …)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"seqforge {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None):
    pass


def _add_builtin_commands() -> None:
    from . import backtest, config, evaluate, export, plugins, predict, run, schema, validate
    from . import runs, serve, tune

    for module in (validate, run, config, predict, evaluate, backtest, export, plugins, schema,
                   tune, runs, serve):
        module.register(app)


_add_builtin_commands()


def main() -> None:
    """Console-script entry point: add plugin commands, then run the app."""
    if sys.argv[1:2] != ["--version"]:
        # built-in task commands (generate, translate, …) belong in --help too; their
        # modules import torch only inside the commands. Installed plugins' commands are
        # added whenever a command runs (scanning installed packages costs ~0.1 s).
        from ..plugins import add_commands

        bare = len(sys.argv) < 2 or sys.argv[1] in ("--help", "-h")
        add_commands(app, installed=not bare)
    app()
