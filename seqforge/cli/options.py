"""Command-line option values, checked like spec values.

A bad value (``--split tset``, ``--device tpu``, ``--nproc 0``) is an :class:`OptionError`:
exit status 2, the option named, and the nearest valid choice — never a traceback and
never a silent fallback.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import SeqforgeError, nearest, unknown_name_message

SPLITS = ("train", "val", "test")
CHECKPOINTS = ("best", "last")


class OptionError(SeqforgeError):
    """A command-line option with a value the command cannot use."""

    def __init__(self, option: str, message: str):
        self.option = option
        super().__init__(f"{option}: {message}")


def choice(option: str, value: str, choices: Iterable[str], kind: str = "value") -> str:
    """``value`` if it is one of ``choices``; else an OptionError with the nearest one:
    ``--split: unknown split 'tset' — did you mean 'test'? available: test, train, val``."""
    choices = list(choices)
    if value in choices:
        return value
    raise OptionError(option, unknown_name_message(kind, value, choices))


def device(option: str, value: str) -> str:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    v = value.strip()
    if v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isdigit()):
        return v
    guess = nearest(v, ("auto", "cpu", "cuda"))
    hint = f" — did you mean {guess!r}?" if guess else ""
    raise OptionError(option, f"unknown device {value!r}{hint} (choose from auto, cpu, cuda, "
                              "cuda:N)")


def at_least(option: str, value: int, low: int) -> int:
    if value < low:
        raise OptionError(option, f"must be at least {low} (got {value})")
    return value


def distinct_output(option: str, out: Path, inputs: list[Path], run_dir: Path | None = None) -> Path:
    """Refuse an output path that is one of the inputs (it would be overwritten) or lies
    inside the run directory's checkpoints."""
    target = out.resolve()
    for path in inputs:
        if path.exists() and target == path.resolve():
            raise OptionError(option, f"{out} is also the input file; writing there would "
                                      "overwrite it — choose another output")
    if run_dir is not None and target.is_relative_to((run_dir / "checkpoints").resolve()):
        raise OptionError(option, f"{out} lies inside the run's checkpoints — choose another "
                                  "output")
    return out


SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", "-s", help="Override a spec value, e.g. --set train.epochs=3 (repeatable).")]
DeviceOpt = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N")]
