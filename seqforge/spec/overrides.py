"""Command-line overrides: ``--set train.epochs=3``.

The value is parsed as YAML (``3`` → int, ``1e-3`` → float, ``[1,2]`` → list, ``adam`` →
str), so an override is typed exactly as if it had been written in the file. Overrides
apply after composition (``extends``). Each key path they set remembers the override as
the user typed it, so an error there names its origin — ``(from --set
model.hidden_size=x)``, or ``(from --data source=x.csv)`` for ``seqforge evaluate`` —
instead of a file line that is not where the value came from.
"""

from __future__ import annotations

from typing import Any

from ..errors import SpecError
from .loader import parse_yaml


def parse_override(text: str, flag: str = "--set") -> tuple[tuple[str, ...], Any]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        example = ", e.g. train.epochs=3" if flag == "--set" else ""
        raise SpecError(f"{flag} {text!r}: expected KEY.PATH=VALUE{example}")
    try:
        value, _ = parse_yaml(raw) if raw.strip() else (None, {})
    except SpecError as e:
        raise SpecError(f"{flag} {text!r}: {e.message}") from None
    return tuple(key.split(".")), value


def _items(overrides: list[str] | dict[str, Any], flag: str):
    """(key path, value, the override as typed) for each override."""
    if isinstance(overrides, dict):
        for key, value in overrides.items():
            path = tuple(key.split(".")) if isinstance(key, str) else tuple(key)
            yield path, value, f"{flag} {'.'.join(map(str, path))}={value!r}"
    else:
        for text in overrides:
            path, value = parse_override(text, flag)
            yield path, value, f"{flag} {text}"


def apply_overrides(data: dict, overrides: list[str] | dict[str, Any] | None, *,
                    flag: str = "--set", prefix: str = "") -> dict[tuple, str]:
    """Apply overrides in place; returns each key path set → the override that set it.

    ``flag`` names the overrides' origin in messages; ``prefix`` is the key path they are
    relative to (``"data"``: ``source=x.csv`` sets ``data.source``).
    """
    if not overrides:
        return {}
    under = tuple(prefix.split(".")) if prefix else ()
    touched: dict[tuple, str] = {}
    for key, value, typed in _items(overrides, flag):
        path = under + key
        node = data
        for i, part in enumerate(path[:-1]):
            nxt = node.get(part) if isinstance(node, dict) else None
            if isinstance(nxt, str):
                # "cell: lstm" overridden by "model.cell.num=…": promote to mapping form
                nxt = {"name": nxt}
                node[part] = nxt
            if nxt is None:
                nxt = {}
                node[part] = nxt
            if not isinstance(nxt, dict):
                raise SpecError(f"{typed}: {'.'.join(path[:i + 1])} is not a mapping")
            node = nxt
        node[path[-1]] = value
        touched[path] = typed
    return touched
