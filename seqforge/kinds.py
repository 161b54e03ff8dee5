"""Shape kinds: what a dataset feeds, what a topology reads and produces, what a task learns from.

A :class:`Shape` is a ``str`` enum, so ``Shape.VECTOR == "vector"`` and plugins that still
declare plain strings keep working. Validation matches these before any data is read:
dataset ``provides`` → topology ``consumes``; topology ``produces`` → task ``outputs``.
"""

from __future__ import annotations

from enum import Enum


class Shape(str, Enum):
    """Per-example shapes."""

    #: one vector: x (F,) in, or out (B, O)
    VECTOR = "vector"
    #: a sequence: x (T, F) floats or (T,) token ids in, or out (B, T', O) of its own length
    SEQUENCE = "sequence"
    #: an output at every input step: out (B, T, O) aligned with x
    ALIGNED_SEQUENCE = "aligned_sequence"

    def __str__(self) -> str:  # messages and YAML show the plain name
        return self.value

    def __repr__(self) -> str:
        return repr(self.value)

    def describe(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Shape.VECTOR: "one vector per example",
    Shape.SEQUENCE: "a sequence per example",
    Shape.ALIGNED_SEQUENCE: "an output at every input step",
}


def describe(kind: object) -> str:
    """Human words for a shape kind (a Shape or a plain string from a plugin)."""
    try:
        return Shape(kind).describe()
    except ValueError:
        return str(kind)


__all__ = ["Shape", "describe"]
