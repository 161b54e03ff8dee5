"""Collecting spec problems, each located where the user can fix it.

A problem is reported at the file and line where the offending value was written (a
composed spec's values come from several files, see :mod:`seqforge.spec.compose`) — or,
when the value came from the command line, with the override that set it
(``(from --set model.hidden_size=x)``) and no line at all: the file's line of an
enclosing section would point at text that is not the problem.
"""

from __future__ import annotations

from pydantic import ValidationError

from ..errors import SpecError, nearest
from .loader import Mark, Marks

#: what a strict type error expects, in a user's words (pydantic says "a valid integer")
_EXPECTED = {"int_type": "an integer", "float_type": "a number", "bool_type": "true or false",
             "string_type": "a string", "list_type": "a list", "tuple_type": "a list",
             "dict_type": "a mapping", "model_type": "a mapping", "none_required": "null"}
#: pydantic's names for union branches, which it adds to an error's location
_BRANCHES = ("str", "int", "Truncated", "float", "bool", "none")


def origin_of(overridden: dict[tuple, str], path: tuple) -> str | None:
    """The override that set ``path`` or a key enclosing it; None: it came from a file."""
    for i in range(len(path), 0, -1):
        if path[:i] in overridden:
            return overridden[path[:i]]
    return None


def mark_of(marks: Marks, overridden: dict[tuple, str], path: tuple) -> Mark | None:
    """Where ``path`` — or, when it was not written, its nearest enclosing key — was
    written; None when an override set it (a file line would point at the wrong text)."""
    if origin_of(overridden, path) is not None:
        return None
    for i in range(len(path), 0, -1):
        if path[:i] in marks:
            return marks[path[:i]]
    return None


class SpecContext:
    """Collects errors and knows where every key path was written."""

    def __init__(self, marks: Marks, file: str | None, overridden: dict[tuple, str]):
        self.marks = marks
        self.file = file
        self.overridden = overridden  # key path → the override that set it, as typed
        self.errors: list[SpecError] = []

    def origin(self, path: tuple) -> str | None:
        return origin_of(self.overridden, path)

    def mark(self, path: tuple) -> Mark | None:
        return mark_of(self.marks, self.overridden, path)

    def error(self, path: tuple, message: str) -> None:
        dotted = ".".join(str(p) for p in path) if path else None
        origin = self.origin(path)
        if origin is not None:
            message += f" (from {origin})"
        mark = self.mark(path)
        self.errors.append(SpecError(message, path=dotted, line=mark.line if mark else None,
                                     file=mark.file if mark and mark.file else self.file))

    def pydantic(self, base: tuple, exc: ValidationError, allowed: list[str] | None = None) -> None:
        """One error per key: a union's branches ("'auto' or an integer") become one message."""
        found: dict[tuple, list] = {}  # path → [messages, input]; in pydantic's order
        for err in exc.errors():
            loc = tuple(p for p in err["loc"]
                        if not (isinstance(p, str) and p.startswith(("function-", "literal["))))
            loc = tuple(p for p in loc if p not in _BRANCHES)
            path, kind = base + loc, err["type"]
            if kind == "extra_forbidden":
                found[path] = [[_unknown_key(loc, allowed)], None, False]
            elif kind == "missing":
                found[path] = [["required key is missing"], None, False]
            else:
                msgs = found.setdefault(path, [[], err.get("input"), True])[0]
                msg = (f"expected {_EXPECTED[kind]}" if kind in _EXPECTED else
                       err["msg"].rstrip(".").removeprefix("Value error, ")
                       .replace("Input should be ", "expected ")
                       .replace("Input should ", "expected to "))
                if msg not in msgs:
                    msgs.append(msg)
        for path, (msgs, got, show_input) in found.items():
            if not show_input:
                self.error(path, msgs[0])
                continue
            if all(m.startswith("expected ") for m in msgs):
                text = "expected " + " or ".join(m.removeprefix("expected ") for m in msgs)
            else:
                text = "; ".join(msgs)
            shown = "a mapping" if isinstance(got, dict) else repr(got)
            self.error(path, f"{text} (got {shown})")


def _unknown_key(loc: tuple, allowed: list[str] | None) -> str:
    key = str(loc[-1]) if loc else "?"
    choices = allowed if (allowed is not None and len(loc) == 1) else []
    msg = f"unknown key {key!r}"
    guess = nearest(key, choices) if choices else None
    if guess:
        msg += f" — did you mean {guess!r}?"
    if choices:
        msg += " allowed: " + ", ".join(sorted(choices))
    return msg

