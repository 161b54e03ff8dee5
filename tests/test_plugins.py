"""The registry: built-ins through the same hooks, runtime plugins, conflicts, broken plugins."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import seqforge
from seqforge.cells.rnn import ElmanRNNCell
from seqforge.cli import app
from seqforge.errors import PluginError
from seqforge.plugins import get_registry, register_plugin, unregister_plugin
from seqforge.registry import KINDS

STOCK = Path(__file__).resolve().parents[1] / "specs" / "stock_lstm.yaml"

runner = CliRunner()


class TinyTanhCell(ElmanRNNCell):
    """A cell contributed at test time (an Elman cell with its own name)."""


class RuntimePlugin:
    @seqforge.hookimpl
    def register_cells(self, register):
        register("tiny_tanh", TinyTanhCell)


@pytest.fixture
def runtime_plugin():
    plugin = RuntimePlugin()
    register_plugin(plugin, name="tiny-plugin", version="9.9")
    try:
        yield plugin
    finally:
        unregister_plugin(plugin)


def test_builtins_cover_every_kind():
    reg = get_registry()
    for kind in KINDS:
        assert reg.names(kind), f"no built-in {kind}"
    for name in ("rnn", "lstm", "gru"):
        assert reg.entry("cell", name).origin == "builtin"
    for name in ("one_to_one", "one_to_many", "many_to_one", "many_to_many", "encoder_decoder"):
        assert name in reg.names("topology")
    for name in ("sgd", "adam", "adamw", "rmsprop"):
        assert name in reg.names("optimizer")
    for name in ("step", "cosine", "reduce_on_plateau"):
        assert name in reg.names("scheduler")


def test_runtime_plugin_listed_and_usable_from_spec(runtime_plugin, tmp_path):
    entry = get_registry().entry("cell", "tiny_tanh")
    assert (entry.plugin, entry.version, entry.origin) == ("tiny-plugin", "9.9", "runtime")
    result = runner.invoke(app, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "tiny_tanh" in result.output and "tiny-plugin" in result.output
    spec = {
        "name": "plug", "data": {"dataset": "timeseries_csv", "window": 8, "test": 0.1},
        "model": {"topology": "many_to_one", "cell": "tiny_tanh", "hidden_size": 4},
        "task": "forecast", "train": {"epochs": 1, "batch_size": 64, "limit_train_batches": 2},
    }
    run = seqforge.train(seqforge.load_spec(spec), out=None)
    assert isinstance(run.model.rnn.cells[0], TinyTanhCell)
    assert run.history and torch.isfinite(torch.tensor(run.history[0]["train_loss"]))


def test_duplicate_name_names_both_plugins():
    class Clash:
        @seqforge.hookimpl
        def register_cells(self, register):
            register("lstm", TinyTanhCell)

    plugin = Clash()
    register_plugin(plugin, name="clashing-plugin")
    try:
        reg = get_registry()  # the rest of the registry works …
        assert reg.entry("cell", "gru").plugin == "builtin"
        with pytest.raises(PluginError) as info:  # … the clashing name does not
            reg.entry("cell", "lstm")
        assert "'builtin'" in str(info.value) and "'clashing-plugin'" in str(info.value)
        res = CliRunner().invoke(app, ["validate", str(STOCK)])
        assert res.exit_code == 2 and "registered twice" in res.output
        res = CliRunner().invoke(app, ["plugins", "--all"])  # shows the conflict, exit 0
        assert res.exit_code == 0 and "clashing-plugin" in res.output
    finally:
        unregister_plugin(plugin)
    assert get_registry().entry("cell", "lstm").plugin == "builtin"


def test_plugin_failing_in_hook_is_skipped_with_warning():
    class Broken:
        @seqforge.hookimpl
        def register_tasks(self, register):
            raise RuntimeError("boom")

    plugin = Broken()
    register_plugin(plugin, name="broken-plugin")
    try:
        with pytest.warns(UserWarning, match="broken-plugin"):
            reg = get_registry()
        assert any(name == "broken-plugin" for name, _ in reg.failures)
        assert "forecast" in reg.names("task")  # everything else keeps working
    finally:
        unregister_plugin(plugin)


def test_plugin_raising_on_import_is_reported_not_fatal(tmp_path):
    """An installed entry point whose module raises: `seqforge plugins` still works."""
    dist = tmp_path / "site" / "broken_pkg-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-pkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[seqforge]\nbroken = broken_mod\n")
    (tmp_path / "site" / "broken_mod.py").write_text("raise ImportError('kaput')\n")
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path / 'site')!r})
        sys.argv = ['seqforge', 'plugins', '--all']
        from seqforge.cli import main
        main()
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "broken-pkg" in res.stderr and "kaput" in res.stderr
    assert "lstm" in res.stdout


def test_env_var_disables_installed_plugins(tmp_path):
    code = ("from seqforge.plugins import get_registry; r = get_registry(); "
            "print(sorted({e.origin for e in r}))")
    import os

    env = {**os.environ, "SEQFORGE_DISABLE_PLUGINS": "1"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "['builtin']"
