"""What the CLI prints: errors on stderr, tables whose titles never wrap mid-phrase."""

from __future__ import annotations

import typer

from ..errors import SeqforgeError


def error(text: str) -> None:
    """``error: …`` in red on stderr, wrapped as one paragraph (markup in text escaped)."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(text)}", markup=True)


def warn(text: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold yellow]warning:[/] {escape(text)}", markup=True)


def fail(exc: SeqforgeError) -> None:
    """Print the error as one paragraph and exit with its status (2 for bad input)."""
    error(str(exc))
    raise typer.Exit(exc.exit_code)


def table(title: str, columns: list[tuple[str, str]]):
    """A rich table whose title is never wrapped mid-phrase: the table is at least as
    wide as its title (columns: (header, justify))."""
    from rich.table import Table

    t = Table(title=title, min_width=len(title) + 4, title_justify="left")
    for header, justify in columns:
        t.add_column(header, justify=justify)
    return t


def console(wide: bool = False):
    """A rich console; ``wide``: tables of many columns are not squeezed into 80 columns
    when the output is a file or a pipe (a terminal keeps its own width)."""
    from rich.console import Console

    c = Console()
    if wide and not c.is_terminal:
        c = Console(width=160)
    return c
