"""Errors a user can act on.

Every problem with a spec, a data file or a run directory becomes one of these. The CLI
prints ``str(error)`` as one paragraph and exits with status 2 — never a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: exit status for bad input (spec, data, run directory)
EXIT_BAD_INPUT = 2


def nearest(name: str, choices: Iterable[str]) -> str | None:
    """The closest valid choice to a misspelt ``name``, or None when nothing is close."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    if name.lower() in lowered:
        return lowered[name.lower()]
    found = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[found[0]] if found else None


def unknown_name_message(kind: str, name: object, choices: Iterable[str]) -> str:
    """``unknown cell 'lstn' — did you mean 'lstm'? available: gru, lstm, rnn``"""
    choices = sorted(choices)
    msg = f"unknown {kind} {name!r}"
    guess = nearest(str(name), choices)
    if guess is not None:
        msg += f" — did you mean {guess!r}?"
    if choices:
        msg += " available: " + ", ".join(choices)
    return msg


class SeqforgeError(Exception):
    """Base class of every error seqforge reports to a user without a traceback."""

    exit_code = EXIT_BAD_INPUT


class SpecError(SeqforgeError):
    """A spec that cannot be run: names the file, the key path and the YAML line."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        file: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.file = file
        super().__init__(self.format())

    def format(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.path:
            loc = self.path
            if self.line is not None:
                loc += f" (line {self.line})"
            where.append(loc)
        elif self.line is not None:
            where.append(f"line {self.line}")
        return (": ".join(where) + ": " if where else "") + self.message

    def located(self, *, file: str | None = None, line: int | None = None,
                path: str | None = None) -> "SpecError":
        """A copy with missing location details filled in."""
        return SpecError(
            self.message,
            path=self.path or path,
            line=self.line if self.line is not None else line,
            file=self.file or file,
        )


class SpecErrors(SpecError):
    """Several independent problems in one spec, reported together."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.message, path=first.path, line=first.line, file=first.file)

    def format(self) -> str:  # one line per problem
        errors = getattr(self, "errors", None)
        if not errors:
            return super().format()
        if len(errors) == 1:
            return errors[0].format()
        return f"{len(errors)} problems in spec:\n" + "\n".join("  " + e.format() for e in errors)

    def __str__(self) -> str:
        return self.format()


class DataError(SeqforgeError):
    """Data that cannot be used: names the file (or generator) and the problem."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 path: str | None = None) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.path = path  # the spec key that pointed at the data, when known
        where = ""
        if source:
            where = str(source)
            if line is not None:
                where += f" (line {line})"
            where += ": "
        super().__init__(where + message)

    def in_spec(self, file: str | None, path: str, line: int | None) -> "DataError":
        """The same problem, prefixed with the spec key that pointed at the data."""
        loc = path + (f" (line {line})" if line is not None else "")
        prefix = f"{file}: {loc}: " if file else f"{loc}: "
        err = DataError(prefix + str(self))
        err.source, err.line, err.path = self.source, self.line, path
        return err


class TrainingDiverged(SeqforgeError):
    """A NaN or infinite loss/gradient under ``nan_policy: stop`` (exit status 3)."""

    exit_code = 3


class RunDirError(SeqforgeError):
    """A run directory that is missing, incomplete or incompatible."""


class PluginError(SeqforgeError):
    """A registry conflict: two plugins claiming one name, or a malformed registration."""
