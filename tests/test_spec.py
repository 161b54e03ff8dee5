"""Spec loading and validation: every error names the key path and the YAML line."""

from __future__ import annotations

import textwrap

import pytest

from seqforge.errors import SpecError
from seqforge.spec.loader import parse_yaml
from seqforge.spec.overrides import parse_override
from seqforge.spec.validate import load_spec

GOOD = """\
name: demo
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
task: forecast
train:
  epochs: 2
  optimizer: {name: adam, lr: 0.01}
"""


def write(tmp_path, text, name="spec.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def error_for(tmp_path, text, overrides=None) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text), overrides=overrides)
    return info.value


def test_good_spec_fills_defaults(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    assert spec.name == "demo" and spec.seed == 3
    assert spec.model.cell.name == "lstm" and spec.model.num_layers == 1
    assert spec.train.optimizer.params.lr == 0.01
    resolved = spec.resolved()
    assert resolved["data"]["window"] == 20 and resolved["data"]["scaler"] == "standard"
    assert resolved["train"]["optimizer"] == {"name": "adam", "lr": 0.01, "weight_decay": 0.0,
                                              "betas": [0.9, 0.999], "eps": 1e-08}
    # the resolved spec is itself a valid spec that resolves to the same thing
    assert load_spec(resolved).resolved() == resolved


def test_misspelt_cell_names_line_and_nearest(tmp_path):
    err = error_for(tmp_path, GOOD.replace("cell: lstm", "cell: lstn"))
    text = str(err)
    assert "model.cell (line 10)" in text
    assert "unknown cell 'lstn'" in text and "did you mean 'lstm'?" in text
    assert "available: " in text and "gru" in text
    assert "spec.yaml" in text


def test_wrongly_typed_value(tmp_path):
    text = str(error_for(tmp_path, GOOD.replace("hidden_size: 8", "hidden_size: lots")))
    assert "model.hidden_size (line 11)" in text and "integer" in text and "'lots'" in text


def test_unknown_key_is_an_error_with_suggestion(tmp_path):
    text = str(error_for(tmp_path, GOOD.replace("  epochs: 2", "  epochs: 2\n  batchsize: 4")))
    assert "train.batchsize (line 15)" in text
    assert "did you mean 'batch_size'?" in text


def test_unknown_section(tmp_path):
    text = str(error_for(tmp_path, GOOD + "trian: {}\n"))
    assert "trian" in text and "did you mean 'train'?" in text and "line 16" in text


def test_topology_that_does_not_fit_task(tmp_path):
    text = str(error_for(tmp_path, GOOD.replace("many_to_one", "many_to_many")))
    assert "model.topology (line 9)" in text
    assert "'many_to_many'" in text and "'forecast'" in text and "many_to_one" in text


def test_unknown_component_parameter(tmp_path):
    text = str(error_for(tmp_path, GOOD.replace("lr: 0.01", "lr: 0.01, momentun: 0.9")))
    assert "train.optimizer.momentun" in text and "line 15" in text


def test_several_problems_reported_together(tmp_path):
    bad = GOOD.replace("cell: lstm", "cell: lstn").replace("window: 20", "window: -1")
    err = error_for(tmp_path, bad)
    assert "2 problems" in str(err)
    assert "data.window (line 7)" in str(err) and "model.cell (line 10)" in str(err)


def test_missing_sections(tmp_path):
    text = str(error_for(tmp_path, "name: x\n"))
    for part in ("data", "model", "task"):
        assert part in text


def test_overrides_are_typed_and_marked(tmp_path):
    spec = load_spec(write(tmp_path, GOOD), overrides=["train.epochs=5", "model.cell=gru",
                                                       "train.optimizer.lr=0.5"])
    assert spec.train.epochs == 5 and spec.model.cell.name == "gru"
    assert spec.train.optimizer.params.lr == 0.5
    err = error_for(tmp_path, GOOD, overrides=["train.epochs=zero"])
    assert "train.epochs" in str(err) and "--set" in str(err)


@pytest.mark.parametrize("bad", ["epochs", "=3", "train..epochs=3"])
def test_malformed_override(bad):
    with pytest.raises(SpecError, match="KEY.PATH=VALUE"):
        parse_override(bad)


@pytest.mark.parametrize("text,what", [
    ("a: !!python/object/apply:os.system ['true']\n", "refused YAML tag"),
    ("a: !!python/name:os.system\n", "refused YAML tag"),
    ("a: [1, 2\n", "not valid YAML"),
    ("a: 1\na: 2\n", "duplicate key"),
])
def test_unsafe_or_broken_yaml(text, what):
    with pytest.raises(SpecError, match=what) as info:
        parse_yaml(text, file="x.yaml")
    assert info.value.line is not None


def test_lines_recorded_for_nested_keys():
    data, lines = parse_yaml("a:\n  b:\n    c: 1\n  d: [1, 2]\n")
    assert data == {"a": {"b": {"c": 1}, "d": [1, 2]}}
    assert lines[("a", "b", "c")] == 3 and lines[("a", "d")] == 4


def test_spec_from_dict_and_relative_paths(tmp_path):
    (tmp_path / "sub").mkdir()
    p = write(tmp_path / "sub", GOOD.replace("builtin:goog", "prices.csv"))
    spec = load_spec(p)
    assert spec.base_dir == (tmp_path / "sub").resolve()


def test_truncated_bptt_needs_aligned_topology(tmp_path):
    text = str(error_for(tmp_path, GOOD + "  bptt: {truncate: 5}\n"))
    assert "train.bptt" in text and "line 16" in text
