"""Spec values are strictly typed: a bool or a string is never a number.

Covers seqforge's own sections and components' ``Params`` — built-in, the example
third-party plugin's, and one registered at test time — plus the YAML side: ``1e-3`` is
a float in a file and in ``--set``, as it is to the people who write it.
"""

from __future__ import annotations

import copy
import textwrap

import pytest
from pydantic import Field
from typer.testing import CliRunner

import seqforge
from seqforge.cells.base import CellParams
from seqforge.cells.rnn import ElmanRNNCell
from seqforge.cli import app
from seqforge.errors import SpecError
from seqforge.plugins import register_plugin, unregister_plugin
from seqforge.spec.loader import dump_yaml, parse_yaml
from seqforge.spec.overrides import parse_override
from seqforge.spec.validate import load_spec

SPEC = {
    "name": "strict",
    "data": {"dataset": "timeseries_csv", "source": "builtin:goog", "window": 8},
    "model": {"topology": "many_to_one", "cell": "lstm", "hidden_size": 4},
    "task": "forecast",
    "train": {"epochs": 1, "optimizer": {"name": "adam", "lr": 0.01}},
}


def with_value(path: str, value):
    spec = copy.deepcopy(SPEC)
    *parents, last = path.split(".")
    node = spec
    for p in parents:
        node = node[p]
    node[last] = value
    return spec


def error(spec) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    return str(info.value)


@pytest.mark.parametrize("path, value, expected", [
    ("model.hidden_size", True, "expected an integer (got True)"),
    ("model.hidden_size", "8", "expected an integer (got '8')"),
    ("model.hidden_size", 8.0, "expected an integer (got 8.0)"),
    ("model.dropout", True, "expected a number (got True)"),
    ("model.dropout", "0.1", "expected a number (got '0.1')"),
    ("model.bidirectional", 1, "expected true or false (got 1)"),
    ("model.bidirectional", "yes", "expected true or false (got 'yes')"),
    ("train.epochs", "3", "expected an integer (got '3')"),
    ("train.threads", True, "expected 'auto' or an integer (got True)"),
    ("seed", False, "expected an integer (got False)"),
    ("data.window", "20", "expected an integer (got '20')"),          # a dataset's Params
    ("train.optimizer.lr", "0.01", "expected a number (got '0.01')"),  # an optimizer's
    ("train.optimizer.lr", True, "expected a number (got True)"),
])
def test_wrong_types_are_refused_not_coerced(path, value, expected):
    assert f"{path}: {expected}" in error(with_value(path, value))


@pytest.mark.parametrize("path, value, check", [
    ("train.optimizer.lr", 1, lambda s: s.train.optimizer.params.lr == 1.0),       # int → float
    ("model.dropout", 0, lambda s: s.model.dropout == 0.0),
    ("train.optimizer.betas", [0.8, 0.9], lambda s: s.train.optimizer.params.betas == (0.8, 0.9)),
    ("train.optimizer.betas", (1, 0.5), lambda s: s.train.optimizer.params.betas == (1.0, 0.5)),
    ("train.threads", "auto", lambda s: s.train.threads == "auto"),
    ("train.bptt", "full", lambda s: s.train.bptt == "full"),
    ("data.target", ["Open", "Close"], lambda s: s.data.dataset.params.target == ["Open", "Close"]),
])
def test_legitimate_values_still_pass(path, value, check):
    assert check(load_spec(with_value(path, value)))


def test_the_example_plugins_params_are_strict_too():
    """seqforge-extras' Lion optimizer: a third-party Params, validated the same way."""
    spec = with_value("train.optimizer", {"name": "lion", "lr": "1e-4"})
    assert "train.optimizer.lr: expected a number (got '1e-4')" in error(spec)
    ok = load_spec(with_value("train.optimizer", {"name": "lion", "lr": 1, "betas": [0.9, 0.95]}))
    assert ok.train.optimizer.params.lr == 1.0 and ok.train.optimizer.params.betas == (0.9, 0.95)


class WideCell(ElmanRNNCell):
    """A cell registered at test time, with Params of its own."""

    class Params(CellParams):
        width: int = Field(2, ge=1)
        scale: float = 1.0
        taps: tuple[int, int] = (1, 2)


class WidePlugin:
    @seqforge.hookimpl
    def register_cells(self, register):
        register("wide_rnn", WideCell)


@pytest.fixture
def wide_plugin():
    plugin = WidePlugin()
    register_plugin(plugin, name="wide-plugin", version="1.0")
    try:
        yield
    finally:
        unregister_plugin(plugin)


@pytest.mark.parametrize("params, expected", [
    ({"width": True}, "model.cell.width: expected an integer (got True)"),
    ({"width": "3"}, "model.cell.width: expected an integer (got '3')"),
    ({"scale": "2"}, "model.cell.scale: expected a number (got '2')"),
    ({"taps": [1, "2"]}, "model.cell.taps.1: expected an integer (got '2')"),
])
def test_a_runtime_plugins_params_are_strict(wide_plugin, params, expected):
    assert expected in error(with_value("model.cell", {"name": "wide_rnn", **params}))


def test_a_runtime_plugins_params_accept_plain_yaml(wide_plugin):
    spec = load_spec(with_value("model.cell", {"name": "wide_rnn", "width": 3, "scale": 2,
                                               "taps": [3, 4]}))
    p = spec.model.cell.params
    assert (p.width, p.scale, p.taps) == (3, 2.0, (3, 4))


def _components_with_defaults():
    from pydantic import ValidationError

    from seqforge.plugins import get_registry

    out = []
    for e in get_registry():
        try:
            out.append(pytest.param(e.params, e.params(), id=f"{e.kind}:{e.name}"))
        except (TypeError, ValidationError):  # no Params, or required keys (a file name)
            continue
    return out


@pytest.mark.parametrize("model, defaults", _components_with_defaults())
def test_every_components_defaults_reload_strictly(model, defaults):
    """What spec.resolved.yaml writes for a component validates strictly when read back
    (every registered one: built-ins and installed plugins)."""
    from seqforge.spec.strict import validate_strict

    dumped = parse_yaml(dump_yaml(defaults.model_dump(mode="json")))[0] or {}
    assert validate_strict(model, dumped) == defaults


# -- the YAML side: exponent floats ------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1e-3", 0.001), ("5E+2", 500.0), ("1e3", 1000.0), ("1.0e3", 1000.0), (".5e1", 5.0),
    ("-2e-5", -2e-5), ("+1E2", 100.0), ("1.5", 1.5), ("1_000", 1000),
])
def test_exponent_numbers_are_numbers(text, value):
    got = parse_yaml(f"lr: {text}\n")[0]["lr"]
    assert got == value and type(got) is type(value)
    assert parse_override(f"train.optimizer.lr={text}") == (("train", "optimizer", "lr"), value)


@pytest.mark.parametrize("text", ["e3", "1e", "1e-", "0x1p3", "1e3x", "'1e3'", "v1e3"])
def test_what_is_not_a_number_stays_a_string(text):
    assert isinstance(parse_yaml(f"a: {text}\n")[0]["a"], str)


def test_exponent_floats_validate_from_a_file_and_from_set(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent("""\
        name: lr
        data: {dataset: timeseries_csv, source: builtin:goog, window: 8}
        model: {topology: many_to_one, cell: gru, hidden_size: 4}
        task: forecast
        train:
          optimizer: {name: adam, lr: 1e-3, eps: 1E-7}
        """))
    s = load_spec(spec)
    assert s.train.optimizer.params.lr == 0.001 and s.train.optimizer.params.eps == 1e-7
    assert load_spec(spec, overrides=["train.optimizer.lr=5e-4"]).train.optimizer.params.lr == 5e-4


def test_a_string_that_looks_like_a_number_survives_the_run_directory_round_trip():
    """spec.resolved.yaml quotes '1e3' so that loading it back gives the string again."""
    data = {"name": "1e3", "lr": 1e-5, "n": 3}
    assert parse_yaml(dump_yaml(data))[0] == data


def test_strict_errors_through_the_cli_exit_2(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: x\ndata: {dataset: timeseries_csv, window: 8}\n"
                    "model: {topology: many_to_one, cell: gru, hidden_size: true}\ntask: forecast\n")
    res = CliRunner().invoke(app, ["validate", str(spec), "--no-dry-run"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "model.hidden_size (line 3): expected an integer (got True)" in res.output


# -- where errors from the command line point -------------------------------------------------

def test_an_override_error_names_the_override_and_no_file_line(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(dump_yaml(SPEC))
    with pytest.raises(SpecError) as info:
        load_spec(spec, overrides=["data.window=x"])
    text = str(info.value)
    assert "data.window: expected an integer (got 'x') (from --set data.window=x)" in text
    assert "(line" not in text  # not the line of `data:`, which is not where x came from
    with pytest.raises(SpecError) as info:  # a key below an overridden mapping
        load_spec(spec, overrides=["model.cell={name: lstm, bias: 3}"])
    assert "model.cell.bias: expected true or false (got 3) " \
           "(from --set model.cell={name: lstm, bias: 3})" in str(info.value)


def test_overrides_can_name_another_origin(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(dump_yaml(SPEC))
    with pytest.raises(SpecError) as info:
        load_spec(spec, overrides=["window=x"], override_flag="--data", override_prefix="data")
    assert "data.window: expected an integer (got 'x') (from --data window=x)" in str(info.value)
    with pytest.raises(SpecError, match="--data 'window': expected KEY.PATH=VALUE"):
        load_spec(spec, overrides=["window"], override_flag="--data", override_prefix="data")
    s = load_spec(spec, overrides=["window=12"], override_flag="--data", override_prefix="data")
    assert s.data.dataset.params.window == 12
    assert s.mark_of("data", "window") is None and s.mark_of("data", "source") is not None


@pytest.mark.slow
def test_evaluate_data_errors_say_they_came_from_data(tmp_path):
    """``seqforge evaluate RUN --data k=v``: errors name ``--data``, not ``--set``, and a
    bad data file is reported without a line of spec.resolved.yaml."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib
    from engine_helpers import forecast_spec, no_plots, write_series

    with no_plots():
        run = seqforge.train(forecast_spec(write_series(tmp_path / "s.csv", 120), epochs=1),
                             out=tmp_path / "runs")
    cli = CliRunner()
    res = cli.invoke(app, ["evaluate", str(run.dir), "--data", "window=x"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "data.window: expected an integer (got 'x') (from --data window=x)" in res.output
    assert "--set" not in res.output and "(line" not in res.output
    res = cli.invoke(app, ["evaluate", str(run.dir), "--data", f"source={tmp_path / 'gone.csv'}"])
    assert res.exit_code == 2 and "gone.csv" in res.output and "(line" not in res.output
