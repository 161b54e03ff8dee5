"""Safe YAML loading that remembers the line of every key.

Only plain YAML types load (``yaml.SafeLoader``): a ``!!python/...`` tag is a spec error,
never code. The result is the plain data plus a map from key path (``("model","cell")``)
to its 1-based line, used to put line numbers on every later error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError

Lines = dict[tuple, int]


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


def load_yaml_file(path: str | Path) -> tuple[Any, Lines]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("spec file not found", file=str(path)) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", file=str(path)) from None
    except UnicodeDecodeError as e:
        raise SpecError(f"not UTF-8 text ({e.reason})", file=str(path)) from None
    return parse_yaml(text, file=str(path))
