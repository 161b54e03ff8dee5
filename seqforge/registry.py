"""Name → component, and which plugin gave it.

The registry is filled by calling every plugin's ``register_<kind>`` hook with a
``register`` callback bound to that plugin, so each entry knows its origin. Two plugins
claiming one name is a :class:`PluginError` naming both — never a silent override.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import PluginError, unknown_name_message

#: component kinds, in the order ``seqforge plugins`` lists them; hook = register_<kind>s
KINDS = ("cell", "topology", "task", "dataset", "optimizer", "scheduler")
HOOKS = {
    "cell": "register_cells",
    "topology": "register_topologies",
    "task": "register_tasks",
    "dataset": "register_datasets",
    "optimizer": "register_optimizers",
    "scheduler": "register_schedulers",
}


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    component: Any
    plugin: str  # plugin (distribution or module) that registered it
    version: str
    origin: str  # "builtin", "entry point", or "runtime"
    description: str = ""

    @property
    def params(self):
        """The component's pydantic parameter model (``component.Params``), or None."""
        return getattr(self.component, "Params", None)


@dataclass
class Registry:
    entries: dict[str, dict[str, Entry]] = field(default_factory=lambda: {k: {} for k in KINDS})
    #: plugins that failed to load or register: (plugin name, error text)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        if entry.kind not in self.entries:
            raise PluginError(
                f"plugin {entry.plugin!r} registered unknown kind {entry.kind!r}")
        if not isinstance(entry.name, str) or not entry.name.isidentifier():
            raise PluginError(
                f"plugin {entry.plugin!r} registered {entry.kind} {entry.name!r}: "
                "names must be identifiers (letters, digits, underscores)")
        existing = self.entries[entry.kind].get(entry.name)
        if existing is not None:
            raise PluginError(
                f"{entry.kind} {entry.name!r} is registered twice: by plugin "
                f"{existing.plugin!r} and by plugin {entry.plugin!r}. Uninstall one, or "
                "restrict plugins with SEQFORGE_PLUGINS.")
        self.entries[entry.kind][entry.name] = entry

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def entry(self, kind: str, name: str) -> Entry:
        """The entry, or a SpecError-ready KeyError message with the nearest name."""
        try:
            return self.entries[kind][name]
        except KeyError:
            raise LookupError(unknown_name_message(kind, name, self.entries[kind])) from None

    def get(self, kind: str, name: str) -> Any:
        return self.entry(kind, name).component

    def __iter__(self):
        for kind in KINDS:
            for name in sorted(self.entries[kind]):
                yield self.entries[kind][name]
