"""The tune: section is validated against the spec's schema before any trial runs: every
searched key path and every value its distribution can give (each choice, both ends of
each range), with the line it was written at and the nearest valid key."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqforge.cli import app
from seqforge.errors import SpecError
from seqforge.spec.tune import flatten_space, parse_param
from seqforge.spec.validate import load_spec

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: helpers
from tool_helpers import STOCK  # noqa: E402

runner = CliRunner()


def _spec(tmp_path, space: str, extra: str = "") -> str:
    path = tmp_path / "s.yaml"
    path.write_text(f"extends: {STOCK}\ntune:\n{extra}  space:\n"
                    + textwrap.indent(textwrap.dedent(space), "    "))
    return str(path)


def _errors(spec_file: str) -> str:
    res = runner.invoke(app, ["tune", spec_file, "--trials", "1"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    return res.output


def test_a_valid_space_is_parsed_in_order(tmp_path):
    spec = load_spec(_spec(tmp_path, """\
        train.optimizer.lr: {loguniform: [1.0e-4, 1.0e-2]}
        model.hidden_size: {choice: [32, 64, 128]}
        model.cell: {choice: [lstm, gru, {name: rnn, nonlinearity: relu}]}
        model.num_layers: {int: [1, 3]}
        model.dropout: {uniform: [0.0, 0.5], step: 0.1, when: {model.num_layers: [2, 3]}}
        """))
    params = spec.tune.params
    assert [p.key for p in params] == ["train.optimizer.lr", "model.hidden_size", "model.cell",
                                       "model.num_layers", "model.dropout"]
    assert params[0].log and params[3].kind == "int"
    assert params[4].when == {"model.num_layers": (2, 3)} and params[4].step == 0.1
    assert spec.tune.trials == 20 and spec.tune.pruner.name == "median"


def test_typod_key_paths_are_exit_2_with_line_and_nearest_key(tmp_path):
    out = _errors(_spec(tmp_path, """\
        train.optimizer.lrr: {loguniform: [1.0e-4, 1.0e-2]}
        model.hiden_size: {choice: [8, 16]}
        modle.cell: {choice: [lstm]}
        """))
    assert "tune.space.train.optimizer.lrr (line 4)" in out and "did you mean 'lr'" in out
    assert "tune.space.model.hiden_size (line 5)" in out and "did you mean 'hidden_size'" in out
    assert "tune.space.modle.cell (line 6)" in out and "did you mean 'model'" in out


def test_values_contradicting_the_schema_are_refused_before_any_trial(tmp_path):
    out = _errors(_spec(tmp_path, """\
        model.dropout: {uniform: [0.0, 1.5]}
        model.cell: {choice: [lstm, gruu]}
        model.hidden_size: {int: [0, 8]}
        """))
    assert "model.dropout: 1.5 does not fit the spec" in out and "less than 1" in out
    assert "unknown cell 'gruu' — did you mean 'gru'" in out
    assert "model.hidden_size: 0 does not fit the spec" in out
    assert not (tmp_path / "studies").exists()  # nothing ran, nothing was written


@pytest.mark.parametrize("space,expect", [
    ("{}", "the search space is empty"),
    ("model.hidden_size: 8", "expected {choice: [...]}"),
    ("model.hidden_size: {choice: []}", "non-empty list"),
    ("model.hidden_size: {int: [8, 2]}", "low 8 is above high 2"),
    ("model.hidden_size: {int: [1, 2.5]}", "two integers"),
    ("train.optimizer.lr: {loguniform: [0, 1]}", "low > 0"),
    ("model.hidden_size: {choice: [8], uniform: [1, 2]}", "exactly one of"),
    ("model.hidden_size: {choise: [8]}", "unknown key 'choise'"),
    ("name: {choice: [a, b]}", "'name' cannot be searched"),
    ("model.cell: {choice: [lstm]}\nmodel.cell.bias: {choice: [true]}", "overlap"),
    ("model.init: {choice: [xavier], when: {model.cel: lstm}}", "not a key searched above"),
])
def test_bad_spaces_are_spec_errors(tmp_path, space, expect):
    body = space if space == "{}" else "".join("\n    " + line for line in space.splitlines())
    text = f"extends: {STOCK}\ntune:\n  space: " + body
    path = tmp_path / "s.yaml"
    path.write_text(text + "\n")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert expect in str(err.value)


def test_tune_keys_are_checked_with_did_you_mean(tmp_path):
    out = _errors(_spec(tmp_path, "model.hidden_size: {choice: [8]}\n",
                        extra="  trails: 3\n  pruner: medain\n"))
    assert "unknown key 'trails' — did you mean 'trials'?" in out
    assert "tune.pruner.name" in out and "'median'" in out


def test_nested_and_dotted_spaces_are_one_and_set_overrides_the_file(tmp_path):
    nested = flatten_space({"model": {"hidden_size": {"choice": [8]}}, "train.epochs": {"int": [1, 2]}})
    assert list(nested) == ["model.hidden_size", "train.epochs"]
    spec = load_spec(_spec(tmp_path, "model.hidden_size: {choice: [8, 16]}\n"),
                     overrides=["tune.space.model.hidden_size={choice: [4, 32]}"])
    assert [p.values for p in spec.tune.params] == [(4, 32)]


def test_stepped_ranges_check_their_last_step():
    p = parse_param("model.hidden_size", {"int": [8, 70], "step": 16})
    assert p.candidates() == [8, 56]


def test_a_spec_with_a_tune_section_still_runs_as_itself(tmp_path):
    path = _spec(tmp_path, "model.hidden_size: {choice: [8, 16]}\n")
    res = runner.invoke(app, ["run", path, "--print-config"])
    assert res.exit_code == 0, res.output
    assert "tune" not in res.stdout and "hidden_size: 50" in res.stdout


def test_tune_without_a_tune_section_is_exit_2():
    res = runner.invoke(app, ["tune", str(STOCK)])
    assert res.exit_code == 2 and "no tune: section" in res.output


@pytest.mark.parametrize("storage,expect", [
    ("nosuch://x", "unknown scheme 'nosuch'"),
    ("/no/such/folder/study.journal", "does not exist"),
    ("postgresql://nobody@127.0.0.1:1/none", "cannot be opened"),
])
def test_a_storage_that_cannot_be_opened_is_exit_2(tmp_path, storage, expect):
    path = _spec(tmp_path, "model.hidden_size: {choice: [8, 16]}\n")
    res = runner.invoke(app, ["tune", path, "--storage", storage, "--out", str(tmp_path / "st")])
    assert res.exit_code == 2, res.output
    assert expect in res.output and "Traceback" not in res.output


def test_the_json_schema_describes_the_tune_section():
    import json

    res = runner.invoke(app, ["schema"])
    schema = json.loads(res.output)["properties"]["tune"]
    assert {"trials", "space", "pruner", "storage", "metric"} <= set(schema["properties"])
    assert schema["properties"]["space"]["minProperties"] == 1
