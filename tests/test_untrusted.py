"""Untrusted input: checkpoints and specs are data, never code.

* a checkpoint carrying a pickle payload is refused by every path that loads one (resume,
  ``load_run``, the CLI) — and the payload provably *would* run if unpickled normally;
* YAML ``!!python/...`` (and any application) tags are refused, as are alias bombs and
  self-referencing aliases, in spec files and in ``--set`` values;
* a component name is looked up in the registry only: no spec string is imported or
  evaluated;
* relative paths in a spec resolve against the spec file's folder, not the working
  directory.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: helpers
from engine_helpers import forecast_spec, no_plots, write_series
from seqforge.api import build, load_run, load_spec, train
from seqforge.cli import app
from seqforge.engine.checkpoint import load_checkpoint
from seqforge.errors import DataError, RunDirError, SpecError
from seqforge.plugins import get_registry


class Payload:
    """Unpickling this runs ``exec`` — it writes the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def _malicious_files(tmp: Path, marker: Path, good: dict) -> dict[str, Path]:
    """Four ways to smuggle the payload in, each a file that claims to be a checkpoint."""
    files = {}
    evil = dict(good, loop=Payload(marker))  # a real checkpoint with one poisoned entry
    files["zip, nested in a real checkpoint"] = tmp / "nested.pt"
    torch.save(evil, files["zip, nested in a real checkpoint"])
    files["zip, top level"] = tmp / "top.pt"
    torch.save(Payload(marker), files["zip, top level"])
    files["legacy torch format"] = tmp / "legacy.pt"
    torch.save({"model": Payload(marker)}, files["legacy torch format"],
               _use_new_zipfile_serialization=False)
    files["raw pickle"] = tmp / "raw.pt"
    files["raw pickle"].write_bytes(pickle.dumps(Payload(marker)))
    return files


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("untrusted")
    csv = write_series(root / "s.csv", 160)
    with no_plots():
        return train(forecast_spec(csv, epochs=1), out=root / "runs")


def test_the_payload_is_live(tmp_path):
    """Control: loaded the unsafe way, the payload runs — so the refusals below mean something."""
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.read_text() == "pwned"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_malicious_checkpoints_are_refused_everywhere(finished_run, tmp_path):
    marker = tmp_path / "marker"
    ckdir = finished_run.dir / "checkpoints"
    good = torch.load(ckdir / "last.pt", weights_only=True)
    files = _malicious_files(tmp_path, marker, good)
    refused = 0
    for what, path in files.items():
        with pytest.raises(RunDirError, match="refused to load checkpoint"):
            load_checkpoint(path)
        refused += 1
    assert refused == 4 and not marker.exists()

    # resume and load_run read checkpoints from the run directory: poison those
    original = (ckdir / "last.pt").read_bytes(), (ckdir / "best.pt").read_bytes()
    runner = CliRunner()
    try:
        for what, path in files.items():
            (ckdir / "last.pt").write_bytes(path.read_bytes())
            (ckdir / "best.pt").write_bytes(path.read_bytes())
            with pytest.raises(RunDirError, match="refused"):
                train(finished_run.spec, out=None, resume=finished_run.dir)
            with pytest.raises(RunDirError, match="refused"):
                load_run(finished_run.dir)
            res = runner.invoke(app, ["evaluate", str(finished_run.dir)])
            assert res.exit_code == 2 and "refused to load checkpoint" in res.output, res.output
            assert "Traceback" not in res.output
    finally:
        (ckdir / "last.pt").write_bytes(original[0])
        (ckdir / "best.pt").write_bytes(original[1])
    assert not marker.exists()
    assert load_run(finished_run.dir).summary  # and the genuine checkpoints still load


TAGGED = [
    "name: !!python/object/apply:os.system ['touch {m}']",
    "!!python/object/apply:builtins.exec [\"open('{m}','w')\"]",
    "name: !!python/object/apply:builtins.exec [\"open('{m}','w')\"]",
    "name: !!python/name:os.system",
    "data: !!python/module:os",
    "model: !!python/object/new:builtins.dict {{}}",
    "train: !!python/object:seqforge.spec.schema.TrainSpec {{epochs: 1}}",
    "task: !forecast forecast",
    "model:\n  cell: !!python/object/apply:builtins.eval\n"
    "    [\"__import__('os').system('touch {m}')\"]",
]


@pytest.mark.parametrize("text", TAGGED)
def test_yaml_code_tags_are_refused(tmp_path, text):
    marker = tmp_path / "marker"
    spec = tmp_path / "evil.yaml"
    spec.write_text(text.format(m=marker) + "\n")
    with pytest.raises(SpecError, match="refused YAML tag") as e:
        load_spec(spec)
    assert str(spec) in str(e.value) and "line" in str(e.value)
    assert not marker.exists()


def test_yaml_tags_in_overrides_and_through_the_cli(tmp_path):
    marker = tmp_path / "marker"
    spec = tmp_path / "ok.yaml"
    spec.write_text(yaml.safe_dump(forecast_spec(tmp_path / "s.csv")))
    evil = f"name=!!python/object/apply:os.system ['touch {marker}']"
    with pytest.raises(SpecError, match="refused YAML tag"):
        load_spec(spec, overrides=[evil])
    res = CliRunner().invoke(app, ["validate", str(spec), "--set", evil])
    assert res.exit_code == 2 and "refused YAML tag" in res.output and "Traceback" not in res.output
    (tmp_path / "evil.yaml").write_text(TAGGED[0].format(m=marker))
    res = CliRunner().invoke(app, ["run", str(tmp_path / "evil.yaml")])
    assert res.exit_code == 2 and "refused YAML tag" in res.output
    assert not marker.exists()


def _bomb(levels: int = 9, merge: bool = False) -> str:
    if merge:
        lines = ["m0: &m0 {" + ", ".join(f"k{i}: {i}" for i in range(10)) + "}"]
        lines += [f"m{i}: &m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * 10) + "]}"
                  for i in range(1, levels)]
    else:
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text, match", [
    (_bomb(), "expands to more than"),  # 10^9 values from nine lines
    (_bomb(merge=True), "expands to more than"),  # the same through merge keys
    ("name: &a [x, *a]\n", "refers to itself"),
    ("name: &a {b: *a}\n", "refers to itself"),
    ("name: " + "[" * 3000 + "]" * 3000 + "\n", "nested"),
    ("name: " + "{a: " * 150 + "1" + "}" * 150 + "\n", "nested"),
])
def test_yaml_bombs_and_cycles_are_refused_fast(tmp_path, text, match):
    spec = tmp_path / "bomb.yaml"
    spec.write_text(text)
    with pytest.raises(SpecError, match=match):
        load_spec(spec)


CODE_NAMES = ["os.system", "builtins.eval", "__import__('os').system('touch MARK')",
              "seqforge.cells.lstm:LSTMCell", "torch.optim.SGD", "this", "subprocess.Popen",
              "exec(\"open('MARK','w')\")", "lambda: 0", "../../etc/passwd"]


@pytest.mark.parametrize("where", ["cell", "topology", "task", "dataset", "optimizer", "scheduler"])
def test_component_names_are_looked_up_never_imported_or_evaluated(tmp_path, monkeypatch, where):
    monkeypatch.chdir(tmp_path)  # a MARK file would land here
    modules = set(sys.modules)
    base = forecast_spec(tmp_path / "s.csv")
    for name in CODE_NAMES:
        spec = yaml.safe_load(yaml.safe_dump(base))
        section = {"cell": spec["model"], "topology": spec["model"], "task": spec,
                   "dataset": spec["data"], "optimizer": spec["train"],
                   "scheduler": spec["train"]}[where]
        section[where] = {"name": name} if where in ("optimizer", "scheduler") else name
        with pytest.raises(SpecError, match=f"unknown {where}"):
            load_spec(spec)
    assert not (tmp_path / "MARK").exists()
    assert not {"this", "subprocess"} & (set(sys.modules) - modules)
    for name in CODE_NAMES:
        with pytest.raises(LookupError):
            get_registry().entry(where, name)


def test_relative_paths_resolve_against_the_spec_file(tmp_path, monkeypatch):
    """``source: data/series.csv`` means next to the spec — even when the working
    directory holds a decoy of the same name."""
    (tmp_path / "project" / "data").mkdir(parents=True)
    (tmp_path / "elsewhere" / "data").mkdir(parents=True)
    real = write_series(tmp_path / "project" / "data" / "series.csv", 160, seed=1)
    write_series(tmp_path / "elsewhere" / "data" / "series.csv", 400, seed=2)  # the decoy
    spec = forecast_spec(Path("data/series.csv"), epochs=1)
    (tmp_path / "project" / "spec.yaml").write_text(yaml.safe_dump(spec))
    monkeypatch.chdir(tmp_path / "elsewhere")
    s = load_spec("../project/spec.yaml")
    built = build(s)
    assert Path(built.bundle.source).resolve() == real.resolve()
    total = sum(len(d) for d in (built.bundle.train, built.bundle.val, built.bundle.test) if d)
    assert total < 160  # windows of the real file's 160 rows, not the decoy's 400
    # a missing relative file is reported at its resolved place
    spec["data"]["source"] = "data/missing.csv"
    (tmp_path / "project" / "spec2.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(DataError) as e:
        build(load_spec("../project/spec2.yaml"))
    assert "project/data/missing.csv" in str(e.value)
