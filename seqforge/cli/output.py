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


def console(wide: bool = False):
    """A rich console; ``wide``: tables of many columns are not squeezed into 80 columns
    when the output is a file or a pipe (a terminal keeps its own width)."""
    from rich.console import Console

    c = Console()
    if wide and not c.is_terminal:
        c = Console(width=160)
    return c



def _is_step(name: str) -> bool:
    head, _, step = name.rpartition("_h")
    return bool(head) and step.isdigit()


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, (int, float)) else "—"


def metric_table(title: str, metrics: dict, prefix: str, best: dict,
                 every: list[dict] | None = None):
    """Metric | model | each baseline (the strongest first, marked): per-step metrics
    (``rmse_h3``) are left to :func:`horizon_table`. ``every``: ``[{"name", **metrics}]``."""
    every = {b["name"]: b for b in every or [] if "name" in b}
    if len(every) < 2:
        every = {}
    others = [n for n in every if n != best.get("name")]
    cols = [("metric", "left"), ("model", "right"),
            (f"{'best ' if every else ''}baseline: {best.get('name', '')}", "right")]
    # "seasonal naive", not "seasonal_naive": a header with a space wraps instead of
    # being cut off in a narrow terminal
    t = table(title, cols + [(n.replace("_", " "), "right") for n in others])
    for k, v in metrics.items():
        name = k.removeprefix(prefix)
        if _is_step(name):
            continue
        t.add_row(name, _fmt(v), _fmt(best.get(name)), *[_fmt(every[n].get(name)) for n in others])
    return t


def horizon_table(metrics: dict, prefix: str, best: dict):
    """RMSE and MASE by horizon step, model beside the strongest baseline (None if the
    metrics have no steps)."""
    steps = sorted({int(k.rpartition("_h")[2]) for k in metrics
                    if _is_step(k.removeprefix(prefix))})
    if not steps:
        return None
    t = table(f"by horizon step (baseline: {best.get('name', '')})",
              [("step", "right"), ("rmse", "right"), ("baseline rmse", "right"),
               ("mase", "right"), ("baseline mase", "right")])
    for h in steps:
        t.add_row(str(h), _fmt(metrics.get(f"{prefix}rmse_h{h}")), _fmt(best.get(f"rmse_h{h}")),
                  _fmt(metrics.get(f"{prefix}mase_h{h}")), _fmt(best.get(f"mase_h{h}")))
    return t


def notes(lines: list[str]) -> None:
    """What loading a run noticed and worked around, as warnings on stderr."""
    for line in lines:
        warn(line)
