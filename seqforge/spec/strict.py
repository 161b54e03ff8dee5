"""Strict types for every spec value.

Pydantic's default (lax) mode coerces: ``hidden_size: true`` became a model of hidden
size 1 and ``hidden_size: "8"`` quietly became 8. Every spec value — seqforge's own
sections and every component's ``Params``, third-party plugins' included — is validated
strictly instead, with pydantic's *JSON* strict rules, because a spec is JSON-like data:
a bool or a string is never a number, but an int is a fine float (``lr: 1``), a list is a
fine tuple (``betas: [0.9, 0.99]``) and a string is a fine path. Python-mode strict would
refuse the last two, since YAML has no tuples or paths.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def validate_strict(model: type[M], values: Any) -> M:
    """``model`` validated from plain spec data; raises pydantic's ``ValidationError``."""
    try:
        text = json.dumps(values, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        # not JSON-like (a dict from Python holding other objects): Python-mode strict,
        # which refuses what it cannot type, each error at its key
        return model.model_validate(values, strict=True)
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):  # e.g. a lone surrogate
            return model.model_validate(values, strict=True)
        raise
