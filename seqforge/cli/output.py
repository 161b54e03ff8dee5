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


def baselines_line(baselines: list[dict], strongest: dict, metric: str | None) -> str | None:
    """Every baseline's ``metric`` on one line, the strongest marked — printed under the
    results table (whose column is the strongest), so no baseline is hidden. None when
    there is only one baseline or no metric to show."""
    scored = [b for b in baselines or [] if isinstance(b.get(metric or ""), (int, float))]
    if len(scored) < 2:
        return None
    parts = [f"{b.get('name', '?')} {b[metric]:.4g}"
             + (" (strongest)" if b.get("name") == strongest.get("name") else "")
             for b in scored]
    return f"baselines by {metric}: " + " · ".join(parts)


def console():
    from rich.console import Console

    return Console()


def notes(lines: list[str]) -> None:
    """What loading a run noticed and worked around, as warnings on stderr."""
    for line in lines:
        warn(line)
