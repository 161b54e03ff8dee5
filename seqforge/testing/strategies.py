"""Hypothesis strategies the contract kit draws from: component parameters, sizes, lengths.

:func:`params_strategy` derives variants from a component's ``Params`` model itself, so
a new option (a ``Literal`` choice, a ``bool`` switch) is exercised by the contract tests
without anyone listing it: every ``Literal`` field draws from its choices, every ``bool``
from both values, every optional field also tries ``None``; other fields keep their
default unless the caller names values for them.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import torch
from hypothesis import strategies as st
from pydantic import BaseModel

#: what a caller may pass as ``params=``: None (derive), a strategy of Params (or dicts),
#: a list of Params/dicts to choose from, or a mapping field -> values/strategy/value
ParamsSpec = Any


def _field_values(annotation: Any) -> st.SearchStrategy | None:
    """Variants for one field from its type alone, or None to keep the default."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return st.sampled_from(typing.get_args(annotation))
    if annotation is bool:
        return st.booleans()
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if type(None) in args:
            rest = [a for a in args if a is not type(None)]
            inner = _field_values(rest[0]) if len(rest) == 1 else None
            return st.none() if inner is None else st.one_of(st.none(), inner)
    return None


def _as_strategy(values: Any) -> st.SearchStrategy:
    if isinstance(values, st.SearchStrategy):
        return values
    if isinstance(values, (list, tuple, set, frozenset)):
        return st.sampled_from(list(values))
    return st.just(values)


def params_strategy(model: type[BaseModel], spec: ParamsSpec = None) -> st.SearchStrategy:
    """Instances of the pydantic ``model`` (a component's ``Params``).

    ``spec``: None derives variants from the field types (see the module docstring); a
    mapping ``{field: values}`` does the same and then draws the named fields from the
    given list / strategy / single value instead; a list of instances (or dicts) picks
    among exactly those; a strategy is used as it is.
    """
    if isinstance(spec, st.SearchStrategy):
        return spec.map(lambda p: p if isinstance(p, model) else model.model_validate(p))
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        return st.sampled_from([p if isinstance(p, model) else model.model_validate(p) for p in spec])
    if spec is None:
        return _derived(model)
    overrides: Mapping[str, Any] = spec
    unknown = set(overrides) - set(model.model_fields)
    if unknown:
        raise ValueError(f"{model.__qualname__} has no field(s) {', '.join(sorted(unknown))}; "
                         f"fields: {', '.join(model.model_fields) or '(none)'}")
    fields: dict[str, st.SearchStrategy] = {}
    for name, info in model.model_fields.items():
        if name in overrides:
            fields[name] = _as_strategy(overrides[name])
        else:
            derived = _field_values(info.annotation)
            if derived is not None:
                fields[name] = derived
    return st.fixed_dictionaries(fields).map(model.model_validate)


@functools.lru_cache(maxsize=None)
def _derived(model: type[BaseModel]) -> st.SearchStrategy:
    """The derived strategy, built once per model (building one costs more than a draw)."""
    return params_strategy(model, {})


def lengths_strategy(B: int, T: int, *, min_length: int = 1,
                     full_row: bool = True) -> st.SearchStrategy:
    """Valid lengths for a batch of B rows padded to T steps, as a list.

    ``full_row``: one row spans all T steps, as the default collate produces (it pads to
    the longest row); otherwise any lengths in [min_length, T].
    """
    base = st.lists(st.integers(min_length, T), min_size=B, max_size=B)
    if not full_row:
        return base
    return st.tuples(base, st.integers(0, B - 1)).map(
        lambda li: [T if k == li[1] else v for k, v in enumerate(li[0])])


def randn(gen: torch.Generator, *shape: int) -> torch.Tensor:
    """Standard normal float64 from ``gen`` (the kit checks in float64)."""
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**31 - 1)
