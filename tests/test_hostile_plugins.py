"""Hostile or broken plugins are contained: each is named, skipped, and never takes the
CLI down or changes its exit code (issue: runs that survive, round two)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import seqforge
from seqforge.cells.rnn import ElmanRNNCell
from seqforge.plugins import get_registry, register_plugin, unregister_plugin


def _installed(tmp_path: Path, module_code: str, dist: str = "hostile-pkg") -> Path:
    """A fake installed distribution with one ``seqforge`` entry point."""
    site = tmp_path / "site"
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[seqforge]\nhostile = hostile_mod\n")
    (site / "hostile_mod.py").write_text(textwrap.dedent(module_code))
    return site


def _cli(site: Path, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(site)!r})
        sys.argv = ['seqforge', *{list(argv)!r}]
        from seqforge.cli import main
        main()
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("body, why", [
    ("import sys\nsys.exit(3)\n", "sys.exit(3)"),
    ("raise SystemExit('bye')\n", "sys.exit('bye')"),
    ("raise KeyError('x')\n", "KeyError"),
])
def test_a_plugin_exiting_or_raising_at_import_is_skipped_and_named(tmp_path, body, why):
    site = _installed(tmp_path, body)
    for argv in (["plugins", "--all"], ["validate", "--no-dry-run",
                                        str(Path(__file__).parents[1] / "specs" / "stock_lstm.yaml")]):
        res = _cli(site, *argv)
        assert res.returncode == 0, res.stderr
        assert "hostile-pkg" in res.stderr and why in res.stderr and "skipped" in res.stderr
        assert "Traceback" not in res.stderr


def test_params_that_are_not_a_pydantic_model_skip_the_plugin_with_its_name():
    class NotPydantic:
        lr = 0.1

    class BadCell(ElmanRNNCell):
        Params = NotPydantic

    class Bad:
        @seqforge.hookimpl
        def register_cells(self, register):
            register("bad_cell", BadCell)

    plugin = Bad()
    register_plugin(plugin, name="bad-params-plugin")
    try:
        with pytest.warns(UserWarning, match="bad-params-plugin.*not a pydantic model"):
            reg = get_registry()
        assert "bad_cell" not in reg.names("cell") and "lstm" in reg.names("cell")
        from seqforge.spec.jsonschema import spec_json_schema

        assert "bad_cell" not in str(spec_json_schema())  # `seqforge schema` still works
    finally:
        unregister_plugin(plugin)


def test_registering_a_non_class_is_refused_with_the_plugin_name():
    class Odd:
        @seqforge.hookimpl
        def register_tasks(self, register):
            register("odd", "not a class")

    plugin = Odd()
    register_plugin(plugin, name="odd-plugin")
    try:
        with pytest.warns(UserWarning, match="odd-plugin.*not a class"):
            reg = get_registry()
        assert "odd" not in reg.names("task")
    finally:
        unregister_plugin(plugin)


def test_seqforge_plugins_naming_an_uninstalled_plugin_says_so(tmp_path):
    site = _installed(tmp_path, "from seqforge import hookimpl\n")
    res = _cli(site, "validate", "--no-dry-run", "--set", "model.cell=layernorm_lstm",
               str(Path(__file__).parents[1] / "specs" / "stock_lstm.yaml"),
               env={"SEQFORGE_PLUGINS": "no-such-plugin"})
    assert res.returncode == 2
    assert "SEQFORGE_PLUGINS" in res.stderr and "no-such-plugin" in res.stderr
    assert "unknown cell 'layernorm_lstm'" in res.stderr and "restricts" in res.stderr
