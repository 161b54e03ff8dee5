"""Docs stay true: every hook is documented, and the plugin guide's code works — its cell,
its complete dataset plugin (package, spec, commands, contract tests) and its facet."""

from __future__ import annotations

import csv
import importlib
import io
import json
import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import seqforge
from seqforge import hookspecs
from seqforge.cli import app
from seqforge.errors import SpecError
from seqforge.plugins import pm, register_plugin, unregister_plugin

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def test_every_hook_is_documented():
    text = DOCS.read_text()
    documented = set(re.findall(r"^### (register_\w+)$", text, flags=re.M))
    hooks = {name for name in dir(pm.hook) if name.startswith("register_")}
    assert hooks, "no hooks found"
    missing = hooks - documented
    assert not missing, f"hooks without a section in docs/plugins.md: {sorted(missing)}"
    stale = documented - hooks
    assert not stale, f"docs/plugins.md documents hooks that do not exist: {sorted(stale)}"
    for name in hooks:  # and each has a one-line docstring in hookspecs.py
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name


def test_guide_cell_trains_from_a_spec():
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    cell_code = next(b for b in blocks if "class ScaledTanhCell" in b)
    ns: dict = {}
    exec(compile(cell_code, str(DOCS), "exec"), ns)
    cell_cls = ns["ScaledTanhCell"]

    class GuidePlugin:
        @seqforge.hookimpl
        def register_cells(self, register):
            register("scaled_tanh", cell_cls)

    plugin = GuidePlugin()
    register_plugin(plugin, name="seqforge-scaled")
    try:
        spec = seqforge.load_spec({
            "name": "guide", "data": {"dataset": "timeseries_csv", "window": 8, "test": 0.1},
            "model": {"topology": "many_to_one", "hidden_size": 4,
                      "cell": {"name": "scaled_tanh", "scale": 0.5}},
            "task": "forecast", "train": {"epochs": 1, "batch_size": 128, "limit_train_batches": 1},
        })
        assert spec.model.cell.params.scale == 0.5
        run = seqforge.train(spec, out=None)
        assert torch.isfinite(torch.tensor(run.history[-1]["train_loss"]))
    finally:
        unregister_plugin(plugin)


# -- the complete dataset plugin of the guide ---------------------------------------------------


def _block(lang: str, marker: str) -> str:
    blocks = re.findall(rf"```{lang}\n(.*?)```", DOCS.read_text(), flags=re.S)
    found = [b for b in blocks if marker in b]
    assert len(found) == 1, f"docs/plugins.md: expected one ```{lang} block with {marker!r}"
    return found[0]


def _ucr_file(path, n: int, seed: int) -> None:
    """Two classes of 24-step series in the UCR format: slow and fast sines, with noise."""
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n):
        c = i % 2
        v = np.sin(np.linspace(0, (2 + 2 * c) * np.pi, 24)) + rng.normal(0, 0.2, 24)
        lines.append("\t".join([str(c + 1)] + [f"{a:.4f}" for a in v]))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def ucr_plugin(tmp_path, monkeypatch):
    """The guide's package written out from its blocks, imported as its entry point names
    it, and registered as installing it would."""
    pkg = tmp_path / "seqforge-ucr"
    (pkg / "tests").mkdir(parents=True)
    toml = _block("toml", 'name = "seqforge-ucr"')
    (pkg / "pyproject.toml").write_text(toml)
    meta = tomllib.loads(toml)
    module_name = meta["project"]["entry-points"]["seqforge"]["ucr"]
    assert meta["tool"]["setuptools"]["py-modules"] == [module_name]
    (pkg / f"{module_name}.py").write_text(_block("python", "class UCRDataset"))
    (pkg / "tests" / "test_ucr.py").write_text(_block("python", "class TestUCR"))
    monkeypatch.syspath_prepend(str(pkg))
    module = importlib.import_module(module_name)
    register_plugin(module, name="seqforge-ucr", version=meta["project"]["version"])
    try:
        yield pkg, module
    finally:
        unregister_plugin(module)
        sys.modules.pop(module_name, None)


def test_guide_dataset_plugin_trains_predicts_and_passes_its_contracts(ucr_plugin, tmp_path):
    pkg, module = ucr_plugin
    work = tmp_path / "work"
    work.mkdir()
    _ucr_file(work / "Waves_TRAIN.tsv", 60, seed=0)
    _ucr_file(work / "Waves_TEST.tsv", 30, seed=1)
    (work / "waves.yaml").write_text(_block("yaml", "dataset: ucr"))
    spec = seqforge.load_spec(work / "waves.yaml",
                              overrides=["train.epochs=1", "train.threads=1"])
    run = seqforge.train(spec, out=work / "runs")
    assert "majority class" in [b["name"] for b in run.summary["baselines"]]
    assert {"test_accuracy", "test_macro_f1"} <= set(run.summary["test"])

    # the commands as the guide prints them
    res = CliRunner().invoke(app, ["predict", str(run.dir), "--input",
                                   str(work / "Waves_TEST.tsv")])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(rows) == 30 and {r["true_label"] for r in rows} == {"1", "2"}
    bad = {**spec.resolved(), "task": "forecast"}
    with pytest.raises(SpecError, match="provides classes — datasets that fit: .*timeseries_csv"):
        seqforge.load_spec(bad)

    # the guide's test file: every contract property of both classes passes
    ns: dict = {"__name__": "test_ucr"}
    exec(compile((pkg / "tests" / "test_ucr.py").read_text(), "test_ucr.py", "exec"), ns)
    ran = 0
    for cls in (ns["TestUCR"], ns["TestClassifyOnUCR"]):
        for name in sorted(n for n in dir(cls) if n.startswith("test_")):
            getattr(cls(), name)()
            ran += 1
    assert ran == 14, "the guide says 14 contract properties"


def test_guide_facet_saves_with_a_run(tmp_path, monkeypatch):
    (tmp_path / "guide_facet.py").write_text(_block("python", "class Intervals(Facet)"))
    monkeypatch.syspath_prepend(str(tmp_path))
    Intervals = importlib.import_module("guide_facet").Intervals
    sys.modules.pop("guide_facet")
    from seqforge.data.info import DataInfo
    from seqforge.data.transforms.scalers import make_scaler

    facet = Intervals(width=3, scaler=make_scaler("minmax").fit(np.arange(4.0)[:, None]),
                            edges=[1, 2])
    state = DataInfo(input="sequence", n_features=1).with_facets(facet).to_state()
    back = DataInfo.from_state(json.loads(json.dumps(state)))
    assert back.facets["intervals"].width == 3 and back.facets["intervals"].edges is None
