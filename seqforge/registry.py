"""Name → component, and which plugin gave it.

The registry is filled by calling every plugin's ``register_<kind>`` hook with a
``register`` callback bound to that plugin, so each entry knows its origin. Two plugins
claiming one name is never a silent override: the name becomes a *conflict* — every use
of it is a :class:`PluginError` naming both plugins, while every other name (and
``seqforge plugins``, which lists the conflict) keeps working.
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


def check_entry(entry: Entry) -> None:
    """What every registration must satisfy, checked when it is made (so a malformed one
    is refused with the plugin's name, not discovered later by ``schema`` or a run)."""
    from pydantic import BaseModel

    if entry.kind not in KINDS:
        raise PluginError(f"plugin {entry.plugin!r} registered unknown kind {entry.kind!r}")
    if not isinstance(entry.name, str) or not entry.name.isidentifier():
        raise PluginError(
            f"plugin {entry.plugin!r} registered {entry.kind} {entry.name!r}: "
            "names must be identifiers (letters, digits, underscores)")
    if not isinstance(entry.component, type):
        raise PluginError(f"plugin {entry.plugin!r} registered {entry.kind} {entry.name!r} as "
                          f"{type(entry.component).__name__} {entry.component!r}, not a class")
    params = entry.params
    if params is not None and not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise PluginError(f"plugin {entry.plugin!r}: {entry.kind} {entry.name!r} has a Params "
                          f"that is not a pydantic model ({params!r}); its spec keys could not "
                          "be validated")


@dataclass
class Registry:
    entries: dict[str, dict[str, Entry]] = field(default_factory=lambda: {k: {} for k in KINDS})
    #: plugins that failed to load or register: (plugin name, error text)
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: (kind, name) claimed by more than one plugin → the plugins, in load order
    conflicts: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    #: a sentence added to unknown-name errors (e.g. SEQFORGE_PLUGINS restricts what loads)
    hint: str = ""

    def add(self, entry: Entry) -> None:
        check_entry(entry)
        key = (entry.kind, entry.name)
        if key in self.conflicts:
            self.conflicts[key].append(entry.plugin)
            return
        existing = self.entries[entry.kind].get(entry.name)
        if existing is not None:
            self.conflicts[key] = [existing.plugin, entry.plugin]
            return
        self.entries[entry.kind][entry.name] = entry

    def conflict_message(self, kind: str, name: str) -> str:
        plugins = self.conflicts[(kind, name)]
        return (f"{kind} {name!r} is registered twice: by plugin "
                + " and by plugin ".join(repr(p) for p in plugins)
                + ". Uninstall one, or restrict plugins with SEQFORGE_PLUGINS.")

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def entry(self, kind: str, name: str) -> Entry:
        """The entry; LookupError with the nearest name, PluginError for a conflict."""
        if (kind, name) in self.conflicts:
            raise PluginError(self.conflict_message(kind, name))
        try:
            return self.entries[kind][name]
        except KeyError:
            msg = unknown_name_message(kind, name, self.entries[kind])
            raise LookupError(msg + (f" ({self.hint})" if self.hint else "")) from None

    def get(self, kind: str, name: str) -> Any:
        return self.entry(kind, name).component

    def __iter__(self):
        for kind in KINDS:
            for name in sorted(self.entries[kind]):
                yield self.entries[kind][name]
