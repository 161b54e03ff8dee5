"""Plugin loading: built-ins, installed entry points (group ``seqforge``), runtime ones.

Environment controls:

``SEQFORGE_DISABLE_PLUGINS=1``
    load no installed (entry-point) plugins; built-ins still load.
``SEQFORGE_PLUGINS=name1,name2``
    load only these installed plugins (entry-point or distribution names).

A plugin that raises on import — or calls ``sys.exit`` — is recorded in
``registry.failures`` and skipped, so one broken package never takes the CLI down; what a
plugin registers is checked at registration (:func:`seqforge.registry.check_entry`) and
a bad registration skips that plugin with a warning naming it. Every message names the
plugin.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import warnings

import pluggy

from . import hookspecs
from .errors import PluginError
from .registry import HOOKS, Entry, Registry, check_entry

GROUP = "seqforge"

pm = pluggy.PluginManager("seqforge")
pm.add_hookspecs(hookspecs)

_loaded = False
_registry: Registry | None = None
#: plugin object -> (display name, version, origin)
_meta: dict[int, tuple[str, str, str]] = {}
_failures: list[tuple[str, str]] = []


class PluginLoadWarning(UserWarning):
    """An installed plugin failed to import or register and was skipped."""


def _version() -> str:
    from .version import __version__
    return __version__


def _builtin_modules() -> list[str]:
    """Every module of ``seqforge.builtins``: each is one internal plugin. Found by name,
    like any plugin: the built-ins sit above this layer and are only ever loaded here."""
    builtins = importlib.import_module(f"{__package__}.builtins")
    return sorted(f"{builtins.__name__}.{m.name}" for m in pkgutil.iter_modules(builtins.__path__))


_builtins_loaded = False


def load_builtins() -> None:
    """Register the built-in plugins (cheap: their hooks import torch only when called)."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for modname in _builtin_modules():
        mod = importlib.import_module(modname)
        if not pm.is_registered(mod):
            pm.register(mod, name=modname)
            _meta[id(mod)] = ("builtin", _version(), "builtin")


def load_plugins() -> None:
    """Register built-ins and installed entry points once per process."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    load_builtins()
    if os.environ.get("SEQFORGE_DISABLE_PLUGINS", "").strip() not in ("", "0"):
        return
    import importlib.metadata as md  # costs ~0.1 s: only when plugins are wanted

    allowed = _allowed()
    found: set[str] = set()
    for ep in md.entry_points(group=GROUP):
        dist = ep.dist.name if ep.dist is not None else ep.name
        version = ep.dist.version if ep.dist is not None else "?"
        found |= {ep.name, dist}
        if allowed and ep.name not in allowed and dist not in allowed:
            continue
        if pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
        except (Exception, SystemExit) as exc:  # a broken plugin is a warning, never a crash
            _fail(dist, f"failed to import ({_why(exc)})")
            continue
        pm.register(plugin, name=ep.name)
        _meta[id(plugin)] = (dist, version, "entry point")
    for name in sorted(allowed - found):
        _fail(name, "is named by SEQFORGE_PLUGINS but no installed package provides it "
                    f"(installed: {', '.join(sorted(found)) or 'none'})")


def _allowed() -> set[str]:
    """The installed plugins SEQFORGE_PLUGINS restricts loading to (empty: all)."""
    return {s.strip() for s in os.environ.get("SEQFORGE_PLUGINS", "").split(",") if s.strip()}


def _why(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r}) while loading"
    return f"{type(exc).__name__}: {exc}"


def _fail(name: str, why: str) -> None:
    _failures.append((name, why))
    warnings.warn(f"seqforge plugin {name!r} {why}; skipped", PluginLoadWarning, stacklevel=3)


def register_plugin(plugin: object, name: str | None = None, version: str = "0") -> None:
    """Register a plugin object at runtime (tests, notebooks, embedding programs)."""
    load_plugins()
    pm.register(plugin, name=name)
    pname = name or pm.get_name(plugin) or repr(plugin)
    _meta[id(plugin)] = (pname, version, "runtime")
    reset_registry()


def unregister_plugin(plugin: object) -> None:
    pm.unregister(plugin)
    _meta.pop(id(plugin), None)
    reset_registry()


def reset_registry() -> None:
    global _registry
    _registry = None


def get_registry() -> Registry:
    """The registry of every component from every loaded plugin (built once, cached)."""
    global _registry
    if _registry is not None:
        return _registry
    load_plugins()
    reg = Registry()
    reg.failures.extend(_failures)
    if _allowed():
        reg.hint = f"SEQFORGE_PLUGINS={os.environ['SEQFORGE_PLUGINS']} restricts the plugins loaded"
    for kind, hook_name in HOOKS.items():
        hook = getattr(pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            plugin_name, version, origin = _meta.get(
                id(impl.plugin), (impl.plugin_name, "0", "runtime"))
            staged: list[Entry] = []

            def register(name, component, *, description: str = "",
                         _k=kind, _p=plugin_name, _v=version, _o=origin, _s=staged):
                doc = description or (getattr(component, "__doc__", None) or "").strip()
                _s.append(Entry(_k, name, component, _p, _v, _o, doc.split("\n")[0]))

            try:
                impl.function(**{a: register for a in impl.argnames})
                for entry in staged:  # all or nothing: a bad entry skips the plugin's hook
                    check_entry(entry)
            except PluginError as exc:
                _skip(reg, plugin_name, f"registered something invalid: {exc}")
                continue
            except (Exception, SystemExit) as exc:
                _skip(reg, plugin_name, f"failed in {hook_name} ({_why(exc)})")
                continue
            for entry in staged:
                reg.add(entry)
    _registry = reg
    return reg


def _skip(reg: Registry, plugin: str, why: str) -> None:
    reg.failures.append((plugin, why))
    warnings.warn(f"seqforge plugin {plugin!r} {why}; skipped", PluginLoadWarning, stacklevel=3)


def add_commands(app, *, installed: bool = True) -> None:
    """Let plugins add CLI sub-commands (hook ``register_commands``).

    ``installed=False`` asks only the built-ins — what ``seqforge --help`` does, so that it
    stays well under the 0.3 s start-up budget (scanning installed distributions is not).
    """
    load_plugins() if installed else load_builtins()
    for impl in pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(**{a: app for a in impl.argnames})
        except (Exception, SystemExit) as exc:
            plugin_name = _meta.get(id(impl.plugin), (impl.plugin_name,))[0]
            warnings.warn(f"seqforge plugin {plugin_name!r} failed to add commands "
                          f"({_why(exc)}); skipped", PluginLoadWarning)
