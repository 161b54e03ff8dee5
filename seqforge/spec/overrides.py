"""Command-line overrides: ``--set train.epochs=3``.

The value is parsed as YAML (``3`` → int, ``[1,2]`` → list, ``adam`` → str), so an
override is typed exactly as if it had been written in the file.
"""

from __future__ import annotations

from typing import Any

from ..errors import SpecError
from .loader import parse_yaml


def parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise SpecError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. train.epochs=3")
    try:
        value, _ = parse_yaml(raw) if raw.strip() else (None, {})
    except SpecError as e:
        raise SpecError(f"--set {text!r}: {e.message}") from None
    return tuple(key.split(".")), value


def apply_overrides(data: dict, overrides: list[str] | dict[str, Any] | None) -> set[tuple]:
    """Apply overrides in place; returns the key paths they set (lines become '--set')."""
    if not overrides:
        return set()
    items = (overrides.items() if isinstance(overrides, dict)
             else (parse_override(o) for o in overrides))
    touched = set()
    for key, value in items:
        path = tuple(key.split(".")) if isinstance(key, str) else tuple(key)
        node = data
        for i, part in enumerate(path[:-1]):
            nxt = node.get(part) if isinstance(node, dict) else None
            if isinstance(nxt, str) and i >= 0:
                # "cell: lstm" overridden by "model.cell.num=…": promote to mapping form
                nxt = {"name": nxt}
                node[part] = nxt
            if nxt is None:
                nxt = {}
                node[part] = nxt
            if not isinstance(nxt, dict):
                raise SpecError(f"--set {'.'.join(path)}: {'.'.join(path[:i + 1])} is not a mapping")
            node = nxt
        node[path[-1]] = value
        touched.add(path)
    return touched
