"""Spec composition: ``extends: base.yaml`` or ``extends: [a.yaml, b.yaml]``.

A spec may build on others. Bases are named relative to the file that names them; they
are merged in order, later ones over earlier ones, and the extending file over them all.
The merge goes mapping by mapping; anything else — a scalar, a list, ``null`` — replaces
what the base had, so the composed spec means exactly what it would if its merged text
had been written in one file (``scheduler: null`` in a child: no scheduler). One more
rule keeps a component's parameters with their component: a mapping whose ``name``
differs from the base's (``optimizer: {name: sgd}`` over ``{name: adam, betas: …}``)
replaces the base's mapping instead of merging into it.

Every value keeps a :class:`~seqforge.spec.loader.Mark` of the file and line it was
written at, so a later error points into that file, whichever it is. Relative *data*
paths inside a spec still resolve against the folder of the spec being run.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import SpecError
from .loader import Marks, parse_yaml, read_spec_text
from .loader import Mark as Mark  # re-exported: compose is where marks come from

#: how deep ``extends`` may chain (a extends b extends c …)
MAX_EXTENDS_DEPTH = 32


class _At(NamedTuple):
    """Where an ``extends`` entry was written: errors about that base are reported there."""

    file: str | None
    path: str
    line: int | None

    def error(self, message: str) -> SpecError:
        return SpecError(message, path=self.path, line=self.line, file=self.file)


def load_composed(path: str | Path) -> tuple[Any, Marks]:
    """Read a spec file and every file it extends, merged; with the mark of every key."""
    data, marks = _load_file(str(path), (), {}, via=None)
    return copy.deepcopy(data), marks  # composed files are shared between their users


def extend(raw: Any, marks: Marks, *, file: str | None, base_dir: Path) -> tuple[Any, Marks]:
    """Merge the bases ``raw["extends"]`` names under ``raw`` (for specs given as data)."""
    data, marks = _extend(raw, marks, file, base_dir, (), {})
    return copy.deepcopy(data), marks


def merge(base: dict, child: dict) -> dict:
    """``child`` over ``base``: mappings merge key by key, anything else replaces."""
    return _merge(base, child, (), set())


def _load_file(name: str, chain: tuple[tuple[str, str], ...], done: dict,
               via: _At | None) -> tuple[Any, Marks]:
    """Compose one file. ``chain``: (real path, shown name) of the files extending it;
    ``done``: files composed already (each is read once, however often it is named);
    ``via``: where the extending file names this one (a read failure is reported there)."""
    real = os.path.realpath(name)
    if real in done:
        return done[real]
    try:
        text = read_spec_text(name)
    except SpecError as e:
        if via is None:
            raise
        raise via.error(f"base spec {name}: {e.message}") from None
    raw, lines = parse_yaml(text, file=name)
    if via is not None and not isinstance(raw, dict):
        raise SpecError("a base spec must be a mapping of spec sections"
                        + (" (this file is empty)" if raw is None else ""), file=name, line=1)
    marks = {path: Mark(name, line) for path, line in lines.items()}
    done[real] = _extend(raw, marks, name, Path(name).parent, chain + ((real, name),), done)
    return done[real]


def _extend(raw: Any, marks: Marks, file: str | None, base_dir: Path,
            chain: tuple[tuple[str, str], ...], done: dict) -> tuple[Any, Marks]:
    if not isinstance(raw, dict) or "extends" not in raw:
        return raw, marks
    merged: dict = {}
    merged_marks: Marks = {}
    for written, where in _bases(raw["extends"], marks, file):
        name = os.path.normpath(written if os.path.isabs(written) else base_dir / written)
        real = os.path.realpath(name)
        if any(real == r for r, _ in chain):
            shown = [n for _, n in chain[[r for r, _ in chain].index(real):]] + [name]
            raise where.error("extends cycle: " + " → ".join(shown) + " — a spec cannot "
                              "extend itself, directly or through its bases")
        if len(chain) >= MAX_EXTENDS_DEPTH:
            raise where.error(f"extends chains more than {MAX_EXTENDS_DEPTH} files deep")
        data, base_marks = _load_file(name, chain, done, via=where)
        merged, merged_marks = _merge_marked(merged, merged_marks, data, base_marks)
    child = {k: v for k, v in raw.items() if k != "extends"}
    child_marks = {p: m for p, m in marks.items() if p[:1] != ("extends",)}
    return _merge_marked(merged, merged_marks, child, child_marks)


def _bases(value: Any, marks: Marks, file: str | None) -> list[tuple[str, _At]]:
    """The file names ``extends`` gives, each with where it was written."""
    items = value if isinstance(value, list) else [value]
    top = marks.get(("extends",), Mark(file, None))
    out = []
    for i, item in enumerate(items):
        path = ("extends", i) if isinstance(value, list) else ("extends",)
        mark = marks.get(path, top)
        where = _At(mark.file, ".".join(map(str, path)), mark.line)
        if not isinstance(item, str) or not item.strip() or "\x00" in item:
            raise where.error(f"extends takes a spec file name or a list of them (got {item!r})")
        out.append((item, where))
    if not out:
        raise _At(top.file, "extends", top.line).error(
            "extends is an empty list: name a base spec or remove the key")
    return out


def _merge_marked(base: dict, base_marks: Marks, child: dict,
                  child_marks: Marks) -> tuple[dict, Marks]:
    """Merge data as :func:`merge` does; a base's marks survive where its values did."""
    replaced: set[tuple] = set()
    data = _merge(base, child, (), replaced)
    kept = {p: m for p, m in base_marks.items()
            if not any(p[:i] in replaced for i in range(1, len(p) + 1))}
    return data, {**kept, **child_marks}


def _merge(base: dict, child: dict, path: tuple, replaced: set[tuple]) -> dict:
    out = dict(base)
    for key, value in child.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict) and not _renamed(old, value):
            out[key] = _merge(old, value, path + (key,), replaced)
        else:
            if key in out:
                replaced.add(path + (key,))
            out[key] = value
    return out


def _renamed(old: dict, new: dict) -> bool:
    """Another component: its parameters are not the base component's."""
    return "name" in old and "name" in new and old["name"] != new["name"]
