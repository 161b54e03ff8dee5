"""seqforge — recurrent sequence models declared in YAML.

The public API is imported lazily so that ``import seqforge`` (and ``seqforge --help``)
does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .hookspecs import hookimpl
from .version import __version__

__all__ = [
    "__version__",
    "hookimpl",
    "load_spec",
    "train",
    "load_run",
    "Run",
    "Spec",
    "SpecError",
    "DataError",
    "SeqforgeError",
    "get_registry",
    "register_plugin",
    "unregister_plugin",
]

_LAZY = {
    "load_spec": "seqforge.api",
    "train": "seqforge.api",
    "load_run": "seqforge.api",
    "Run": "seqforge.api",
    "Spec": "seqforge.spec.schema",
    "SpecError": "seqforge.errors",
    "DataError": "seqforge.errors",
    "SeqforgeError": "seqforge.errors",
    "get_registry": "seqforge.plugins",
    "register_plugin": "seqforge.plugins",
    "unregister_plugin": "seqforge.plugins",
}

if TYPE_CHECKING:  # pragma: no cover
    from .api import Run, load_run, load_spec, train
    from .errors import DataError, SeqforgeError, SpecError
    from .plugins import get_registry, register_plugin, unregister_plugin
    from .spec.schema import Spec


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'seqforge' has no attribute {name!r}")
