"""Safe YAML loading that remembers the line of every key.

Only plain YAML types load (``yaml.SafeLoader``): a ``!!python/...`` tag is a spec error,
never code. The result is the plain data plus a map from key path (``("model","cell")``)
to its 1-based line, used to put line numbers on every later error. A spec composed from
several files (:mod:`seqforge.spec.compose`) keeps a :class:`Mark` — file *and* line —
per key path instead, so an error points into the file where the value was written.

Files are read with a bound (:data:`MAX_SPEC_BYTES`, regular files only) before any
parsing: the YAML parser's time grows with the text, and a FIFO or ``/dev/zero`` never
ends.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from ..errors import SpecError

Lines = dict[tuple, int]


class Mark(NamedTuple):
    """Where a spec value was written: the file (None: not from a file) and its line."""

    file: str | None
    line: int | None


#: key path → where it was written
Marks = dict[tuple, Mark]

#: the largest spec file read: a real spec is a few KB; parsing 1 MiB of YAML already
#: takes seconds
MAX_SPEC_BYTES = 1 << 20

#: ``1e-3``, ``5E+2``, ``1.0e3``, ``.5e3``: numbers to everyone who writes a learning rate,
#: strings to PyYAML (YAML 1.1 wants a dot and a signed exponent). YAML 1.2 reads them as
#: floats; so does seqforge — in files and in ``--set`` values alike.
EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}

#: what a spec may expand to. Real specs hold a few hundred values; an alias bomb
#: ("billion laughs": aliases repeating aliases, or merge keys merging merges) expands a
#: few lines into billions, and a self-referencing alias never ends.
MAX_VALUES = 100_000
MAX_DEPTH = 100


class _SpecLoader(yaml.SafeLoader):
    """SafeLoader that stops at :data:`MAX_DEPTH` flow levels (``[[[…``): PyYAML's scanner
    does work proportional to the flow depth for every token, so a few kilobytes of
    brackets would otherwise take minutes to refuse."""

    def fetch_flow_collection_start(self, TokenClass):
        if self.flow_level >= MAX_DEPTH:
            raise SpecError(f"nested more than {MAX_DEPTH} levels deep: not a spec",
                            line=self.get_mark().line + 1)
        super().fetch_flow_collection_start(TokenClass)


class _SpecDumper(yaml.SafeDumper):
    """SafeDumper that quotes strings :class:`_SpecLoader` would read back as numbers."""


for _cls in (_SpecLoader, _SpecDumper):
    _cls.add_implicit_resolver("tag:yaml.org,2002:float", EXPONENT_FLOAT, list("-+.0123456789"))


def dump_yaml(data: Any) -> str:
    """YAML text that :func:`parse_yaml` reads back as exactly ``data`` (``spec.resolved.yaml``)."""
    return yaml.dump(data, Dumper=_SpecDumper, sort_keys=False, allow_unicode=True)


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph that is cyclic, too deep, or expands past :data:`MAX_VALUES`.

    Sizes are memoised per node, so this costs one visit per *distinct* node — it runs
    before anything (merge-key flattening included) expands the aliases.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        line = node.start_mark.line + 1
        if key in active:
            raise SpecError("a YAML alias refers to itself: a spec is finite plain data", line=line)
        if depth > MAX_DEPTH:
            raise SpecError(f"nested more than {MAX_DEPTH} levels deep: not a spec", line=line)
        active.add(key)
        n = 1
        if isinstance(node, yaml.MappingNode):
            n += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            n += sum(size(v, depth + 1) for v in node.value)
        active.discard(key)
        if n > MAX_VALUES:
            raise SpecError(f"the YAML expands to more than {MAX_VALUES:,} values (aliases "
                            "repeating aliases?): refused, a spec is small plain data", line=line)
        sizes[key] = n
        return n

    size(root, 0)


def _to_python(node: yaml.Node, loader: yaml.SafeLoader, path: tuple, lines: Lines) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
        # scalars are checked by SafeLoader itself; collections we walk by hand, so
        # refuse application tags (!!python/object/apply …) here
        raise SpecError(f"refused YAML tag {node.tag!r}: specs hold plain data only, never code",
                        path=_dotted(path) if path else None, line=node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                raise SpecError("mapping keys must be plain scalars",
                                path=_dotted(path), line=key_node.start_mark.line + 1)
            key = str(key)
            if key in out:
                raise SpecError(f"duplicate key {key!r}", path=_dotted(path + (key,)),
                                line=key_node.start_mark.line + 1)
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _to_python(value_node, loader, path + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, loader, path + (i,), lines) for i, v in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "<top>"


def parse_yaml(text: str, file: str | None = None) -> tuple[Any, Lines]:
    """Parse YAML text safely → (data, lines). Errors carry the file and line."""
    try:
        loader = _SpecLoader(text)
    except yaml.reader.ReaderError as e:  # the reader checks every character up front
        raise SpecError(f"not valid YAML: character {e.character:#06x} is not allowed in YAML "
                        "text", file=file, line=text.count("\n", 0, e.position) + 1) from None
    lines: Lines = {}
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines
        _check_expansion(node)
        return _to_python(node, loader, (), lines), lines
    except SpecError as e:
        raise e.located(file=file) from None
    except RecursionError:  # the YAML parser itself recurses once per nesting level
        raise SpecError(f"nested too deeply: not a spec (at most {MAX_DEPTH} levels)",
                        file=file) from None
    except yaml.constructor.ConstructorError as e:
        mark = e.problem_mark
        tag = f" ({e.problem})" if e.problem else ""
        raise SpecError(f"refused YAML tag{tag}: specs hold plain data only, never code",
                        file=file, line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        raise SpecError(f"not valid YAML: {problem}", file=file,
                        line=mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()


def read_spec_text(path: str | Path) -> str:
    """The text of a spec file — a regular file of at most :data:`MAX_SPEC_BYTES`.

    Checked with ``stat`` before opening (a device is never opened), opened non-blocking
    (a FIFO swapped in meanwhile cannot hang the open), and read to at most the limit
    plus one byte, so neither a huge file nor an endless stream is ever read whole.
    """
    name = str(path)
    limit = f"{MAX_SPEC_BYTES // 1024 // 1024} MiB"
    try:
        info = os.stat(name)
        _regular_file(info.st_mode, name, limit)
        if info.st_size > MAX_SPEC_BYTES:
            raise SpecError(f"spec file is {info.st_size / 2**20:.1f} MiB: refused before "
                            f"parsing — a spec may be at most {limit} (a real one is a few KB)",
                            file=name)
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            _regular_file(os.fstat(f.fileno()).st_mode, name, limit)  # swapped since the stat?
            data = f.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise SpecError("spec file not found", file=name) from None
    except OSError as e:
        raise SpecError(f"cannot read the spec file ({e.strerror or e})", file=name) from None
    if len(data) > MAX_SPEC_BYTES:  # it grew after the stat
        raise SpecError(f"spec file is larger than {limit}: refused", file=name)
    try:  # newlines as Path.read_text gives them
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as e:
        raise SpecError(f"not UTF-8 text ({e.reason})", file=name) from None


def _regular_file(mode: int, name: str, limit: str) -> None:
    if stat.S_ISDIR(mode):
        raise SpecError("is a directory, not a spec file", file=name)
    if not stat.S_ISREG(mode):
        raise SpecError("not a regular file (a FIFO, device or socket): refused — a spec is "
                        f"a YAML file of at most {limit}", file=name)


def load_yaml_file(path: str | Path) -> tuple[Any, Lines]:
    """Read (bounded, see :func:`read_spec_text`) and parse one YAML file."""
    return parse_yaml(read_spec_text(path), file=str(path))
