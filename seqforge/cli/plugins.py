"""``seqforge plugins``: every registered component, and the plugins that failed to load."""

from __future__ import annotations

import warnings
from typing import Annotated

import typer

from .output import warn


def shorten(text: str, width: int = 60) -> str:
    """``text`` cut to ``width`` characters at a word boundary, with an ellipsis."""
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, width)
    return (text[:cut] if cut > width // 2 else text[:width - 1]).rstrip(" ,;:") + "…"


def plugins(all_: Annotated[bool, typer.Option("--all", help="Include built-in components.")] = False):
    """List registered components: kind, name, providing plugin, version, origin."""
    from rich.console import Console
    from rich.table import Table

    from ..plugins import get_registry

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = get_registry()
    title = "seqforge components" + ("" if all_ else " from installed plugins (--all adds built-ins)")
    t = Table(title=title, min_width=len(title) + 4)
    for col in ("kind", "name", "plugin", "version", "origin", "description"):
        t.add_column(col)
    n = 0
    for e in reg:
        if e.origin == "builtin" and not all_:
            continue
        t.add_row(e.kind, e.name, e.plugin, e.version, e.origin, shorten(e.description))
        n += 1
    out = Console(width=max(120, Console().width))
    out.print(t)
    if not n:
        out.print("no plugin components installed" + ("" if all_ else " (use --all to see the built-ins)"))
    for (kind, name) in sorted(reg.conflicts):
        warn(reg.conflict_message(kind, name) + " Specs that use it are refused; the rest work.")
    for name, why in reg.failures:
        warn(f"plugin {name!r} {why}; skipped")
    for w in caught:
        if "seqforge plugin" in str(w.message) and not any(n in str(w.message) for n, _ in reg.failures):
            warn(str(w.message))


def register(app: typer.Typer) -> None:
    app.command()(plugins)
