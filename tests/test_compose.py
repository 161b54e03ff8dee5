"""Spec composition (``extends``): merging, where errors point, cycles, the config command."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: helpers
from fuzz_strategies import junk
from seqforge.cli import app
from seqforge.errors import SpecError
from seqforge.spec.compose import MAX_EXTENDS_DEPTH, load_composed, merge
from seqforge.spec.loader import parse_yaml
from seqforge.spec.validate import load_spec

runner = CliRunner()

BASE = """\
seed: 3
data:
  dataset: timeseries_csv
  source: builtin:goog
  target: Open
  window: 20
model:
  topology: many_to_one
  cell: lstm
  hidden_size: 8
  num_layers: 2
task: forecast
train:
  epochs: 2
  optimizer: {name: adam, lr: 0.01}
  scheduler: {name: step, step_size: 2}
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def error_for(path, overrides=None) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(path, overrides=overrides)
    return str(info.value)


def test_single_base_deep_merge_child_wins(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    child = write(tmp_path / "child.yaml", """\
        extends: base.yaml
        model:
          hidden_size: 16
        train:
          optimizer: {lr: 0.5}
          scheduler: null
        """)
    spec = load_spec(child)
    assert spec.name == "child"  # the run is named after the file you run
    assert spec.seed == 3 and spec.data.dataset.params.window == 20  # inherited
    assert spec.model.hidden_size == 16 and spec.model.num_layers == 2  # merged, child wins
    assert spec.model.cell.name == "lstm"
    assert spec.train.optimizer.name == "adam" and spec.train.optimizer.params.lr == 0.5
    assert spec.train.scheduler is None  # null replaces: no scheduler
    assert "extends" not in spec.resolved()


def test_list_of_bases_later_wins_then_child(tmp_path):
    write(tmp_path / "a.yaml", BASE)
    write(tmp_path / "b.yaml", "model: {hidden_size: 12, cell: gru}\ntrain: {epochs: 5}\n")
    child = write(tmp_path / "c.yaml", "extends: [a.yaml, b.yaml]\ntrain: {epochs: 7}\n")
    spec = load_spec(child)
    assert spec.model.hidden_size == 12 and spec.model.cell.name == "gru"  # b over a
    assert spec.train.epochs == 7  # the child over both
    assert spec.model.num_layers == 2 and spec.train.batch_size == 32  # a's, then a default


def test_lists_replace_and_a_renamed_component_starts_fresh(tmp_path):
    write(tmp_path / "base.yaml", BASE.replace("target: Open", "target: [Open, Close]")
          .replace("{name: adam, lr: 0.01}", "{name: adam, lr: 0.01, betas: [0.8, 0.9]}"))
    child = write(tmp_path / "child.yaml", """\
        extends: base.yaml
        data: {target: [High]}
        train:
          optimizer: {name: sgd, momentum: 0.5}
        """)
    spec = load_spec(child)
    assert spec.data.dataset.params.target == ["High"]
    opt = spec.train.optimizer
    assert opt.name == "sgd" and opt.params.momentum == 0.5
    assert opt.params.lr == 0.1  # sgd's default: adam's lr and betas stayed with adam


def test_relative_paths_are_relative_to_the_extending_file(tmp_path, monkeypatch):
    write(tmp_path / "common" / "base.yaml", BASE)
    write(tmp_path / "common" / "wide.yaml", "extends: base.yaml\nmodel: {hidden_size: 32}\n")
    child = write(tmp_path / "project" / "spec.yaml", "extends: ../common/wide.yaml\n")
    # a decoy: the same relative name, taken from the working directory, finds this one
    write(tmp_path / "decoy" / "common" / "wide.yaml", BASE.replace("hidden_size: 8", "hidden_size: 99"))
    (tmp_path / "decoy" / "inner").mkdir()
    monkeypatch.chdir(tmp_path / "decoy" / "inner")
    spec = load_spec(child)
    assert spec.model.hidden_size == 32 and spec.seed == 3
    assert spec.base_dir == (tmp_path / "project").resolve()


def test_error_in_base_is_reported_in_the_base_file_at_its_line(tmp_path):
    base = write(tmp_path / "base.yaml", BASE.replace("cell: lstm", "cell: lstn"))
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nseed: 1\n")
    text = error_for(child)
    assert f"{base}: model.cell (line 9): unknown cell 'lstn'" in text
    assert "child.yaml" not in text


def test_error_in_child_is_reported_in_the_child(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nmodel:\n  hidden_size: lots\n")
    text = error_for(child)
    assert f"{child}: model.hidden_size (line 3): expected an integer (got 'lots')" in text


def test_errors_in_several_files_each_name_their_own(tmp_path):
    base = write(tmp_path / "base.yaml", BASE.replace("window: 20", "window: -1"))
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nmodel: {cell: lstn}\n")
    text = error_for(child)
    assert "2 problems" in text
    assert f"{base}: data.window (line 6)" in text and f"{child}: model.cell (line 2)" in text


def test_data_error_points_at_the_file_that_wrote_the_key(tmp_path):
    from seqforge.api import build
    from seqforge.errors import DataError

    base = write(tmp_path / "base.yaml", BASE.replace("builtin:goog", "missing.csv"))
    child = write(tmp_path / "child.yaml", "extends: base.yaml\n")
    with pytest.raises(DataError) as info:
        build(load_spec(child))
    assert f"{base}: data.source (line 4)" in str(info.value)


@pytest.mark.parametrize("files, start, chain", [
    ({"a.yaml": "extends: a.yaml\n"}, "a.yaml", "a.yaml → a.yaml"),
    ({"a.yaml": "extends: b.yaml\n", "b.yaml": "extends: [a.yaml]\n"}, "a.yaml",
     "a.yaml → b.yaml → a.yaml"),
])
def test_cycles_are_refused_naming_the_chain(tmp_path, monkeypatch, files, start, chain):
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        write(tmp_path / name, text)
    text = error_for(start)
    assert f"extends cycle: {chain}" in text and "line 1" in text


def test_a_diamond_is_not_a_cycle(tmp_path):
    write(tmp_path / "root.yaml", BASE)
    write(tmp_path / "left.yaml", "extends: root.yaml\nseed: 5\n")
    write(tmp_path / "right.yaml", "extends: root.yaml\nmodel: {hidden_size: 4}\n")
    spec = load_spec(write(tmp_path / "top.yaml", "extends: [left.yaml, right.yaml]\n"))
    assert spec.seed == 3  # right re-applies root's seed over left's: later entries win
    assert spec.model.hidden_size == 4


def test_missing_base_names_the_extending_file_key_and_line(tmp_path):
    child = write(tmp_path / "child.yaml", "seed: 1\nextends:\n  - nope.yaml\n")
    text = error_for(child)
    assert f"{child}: extends.0 (line 3): base spec {tmp_path / 'nope.yaml'}: spec file not found" in text


@pytest.mark.parametrize("value, what", [
    ("3", "extends takes a spec file name"),
    ("[]", "empty list"),
    ("[base.yaml, {a: 1}]", "got {'a': 1}"),
])
def test_malformed_extends(tmp_path, value, what):
    write(tmp_path / "base.yaml", BASE)
    text = error_for(write(tmp_path / "child.yaml", f"seed: 1\nextends: {value}\n"))
    assert what in text and "extends" in text and "line 2" in text


def test_a_base_that_is_not_a_mapping(tmp_path):
    base = write(tmp_path / "base.yaml", "- just\n- a list\n")
    text = error_for(write(tmp_path / "child.yaml", "extends: base.yaml\n"))
    assert f"{base}: line 1: a base spec must be a mapping" in text


def test_chains_deeper_than_the_limit_are_refused(tmp_path):
    write(tmp_path / "f0.yaml", BASE)
    for i in range(1, MAX_EXTENDS_DEPTH + 1):
        write(tmp_path / f"f{i}.yaml", f"extends: f{i - 1}.yaml\n")
    assert load_spec(tmp_path / f"f{MAX_EXTENDS_DEPTH - 1}.yaml").seed == 3  # 32 files
    text = error_for(tmp_path / f"f{MAX_EXTENDS_DEPTH}.yaml")
    assert f"extends chains more than {MAX_EXTENDS_DEPTH} files deep" in text


def test_overrides_apply_after_composition(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nmodel: {hidden_size: 16}\n")
    assert load_spec(child, overrides=["model.hidden_size=24"]).model.hidden_size == 24
    text = error_for(child, overrides=["model.hidden_size=x"])
    assert "(from --set model.hidden_size=x)" in text and "(line" not in text


def test_a_dict_spec_may_extend_a_file(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    spec = load_spec({"extends": "base.yaml", "name": "d", "seed": 9}, base_dir=tmp_path)
    assert spec.seed == 9 and spec.model.hidden_size == 8


def test_resolved_spec_stands_alone(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nmodel: {hidden_size: 16}\n")
    resolved = load_spec(child).resolved()
    (tmp_path / "base.yaml").unlink()  # a run directory must not need its bases
    alone = write(tmp_path / "elsewhere" / "spec.resolved.yaml", yaml.safe_dump(resolved))
    assert load_spec(alone).resolved() == resolved


def test_marks_name_the_file_each_key_was_written_in(tmp_path):
    base = write(tmp_path / "base.yaml", BASE)
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nmodel:\n  hidden_size: 16\n")
    data, marks = load_composed(child)
    assert marks[("model", "hidden_size")] == (str(child), 3)
    assert marks[("model", "cell")] == (str(base), 9)
    assert marks[("model",)].file == str(child)  # a merged section: the child's key line
    assert not any(p[:1] == ("extends",) for p in marks) and "extends" not in data
    spec = load_spec(child)
    assert spec.line_of("model", "cell") == 9 and spec.mark_of("model", "cell").file == str(base)
    # a value the child replaced leaves none of the base's marks below it
    write(child, "extends: base.yaml\ntrain:\n  optimizer: {name: sgd}\n")
    _, marks = load_composed(child)
    assert marks[("train", "optimizer", "name")] == (str(child), 3)
    assert ("train", "optimizer", "lr") not in marks


# -- the merge itself ----------------------------------------------------------------------

keys = st.sampled_from(["a", "b", "c", "name"])
trees = st.recursive(st.one_of(st.none(), st.integers(), st.text(max_size=3)),
                     lambda inner: st.dictionaries(keys, inner, max_size=3), max_leaves=8)
mappings = st.dictionaries(keys, trees, max_size=4)


def _leaves(tree: dict, path=()):
    """(path, value) of every non-mapping value (an empty mapping merges nothing in)."""
    for k, v in tree.items():
        if isinstance(v, dict):
            yield from _leaves(v, path + (k,))
        else:
            yield path + (k,), v


def _get(tree, path):
    for k in path:
        tree = tree[k]
    return tree


@given(mappings)
def test_merging_with_nothing_changes_nothing(a):
    assert merge(a, {}) == a and merge({}, a) == a


@given(mappings, mappings)
def test_every_value_the_child_wrote_wins(base, child):
    merged = merge(base, child)
    for path, value in _leaves(child):
        assert _get(merged, path) == value
    assert set(merged) == set(base) | set(child)


@given(mappings, mappings)
def test_merging_the_same_child_twice_is_merging_it_once(base, child):
    assert merge(child, child) == child
    assert merge(merge(base, child), child) == merge(base, child)


def test_merge_does_not_touch_its_inputs():
    base, child = {"m": {"x": 1}}, {"m": {"y": 2}}
    assert merge(base, child) == {"m": {"x": 1, "y": 2}}
    assert base == {"m": {"x": 1}} and child == {"m": {"y": 2}}


# -- seqforge config / run --print-config ----------------------------------------------------

def test_config_prints_the_resolved_spec(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nmodel: {hidden_size: 16}\n")
    res = runner.invoke(app, ["config", str(child), "--set", "train.optimizer.lr=1e-3"])
    assert res.exit_code == 0, res.output
    printed, _ = parse_yaml(res.stdout)
    assert printed == load_spec(child, overrides=["train.optimizer.lr=0.001"]).resolved()
    assert printed["model"]["hidden_size"] == 16 and printed["model"]["num_layers"] == 2
    assert printed["train"]["optimizer"]["lr"] == 0.001 and "extends" not in printed
    assert printed["train"]["checkpoint"]["keep"] == 1  # every default, spelt out


def test_run_print_config_prints_and_does_not_train(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    child = write(tmp_path / "child.yaml", "extends: base.yaml\n")
    out = tmp_path / "runs"
    res = runner.invoke(app, ["run", str(child), "--print-config", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert parse_yaml(res.stdout)[0] == load_spec(child).resolved()
    assert not out.exists()  # no run directory: nothing trained


@pytest.mark.parametrize("argv", [["config"], ["run", "--print-config"]])
def test_config_errors_exit_2_without_traceback(tmp_path, argv):
    write(tmp_path / "base.yaml", BASE.replace("cell: lstm", "cell: lstn"))
    child = write(tmp_path / "child.yaml", "extends: base.yaml\n")
    res = runner.invoke(app, [argv[0], str(child), *argv[1:]])
    assert res.exit_code == 2 and "base.yaml: model.cell (line 9)" in res.output
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    cycle = write(tmp_path / "cycle.yaml", "extends: cycle.yaml\n")
    for path, what in [(cycle, "extends cycle"), (tmp_path / "nope.yaml", "not found")]:
        res = runner.invoke(app, [argv[0], str(path), *argv[1:]])
        assert res.exit_code == 2 and what in res.output and "Traceback" not in res.output


def test_extends_from_the_command_line_is_refused_clearly(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    child = write(tmp_path / "child.yaml", "extends: base.yaml\n")
    text = error_for(child, overrides=["extends=other.yaml"])
    assert "extends is merged before overrides apply" in text
    assert "(from --set extends=other.yaml)" in text


def test_the_json_schema_knows_extends():
    from seqforge.spec.jsonschema import spec_json_schema

    schema = spec_json_schema()
    assert "extends" in schema["properties"]
    assert schema["if"] == {"required": ["extends"]}  # a child may leave sections to its bases
    assert schema["else"]["required"] == ["data", "model", "task"]


@pytest.fixture(scope="module")
def empty_dir(tmp_path_factory):
    """Where a fuzzed ``extends``' relative names resolve: to nothing."""
    return tmp_path_factory.mktemp("empty")


@given(value=junk)
def test_any_extends_value_gives_a_spec_error_or_a_spec(empty_dir, value):
    """Whatever ``extends`` holds, the outcome is a Spec or a SpecError — never a crash."""
    try:
        load_spec({**yaml.safe_load(BASE), "name": "j", "extends": value}, base_dir=empty_dir)
    except SpecError as e:
        assert str(e).strip()
