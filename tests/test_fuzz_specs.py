"""Fuzzing the spec and data front door: malformed input never gives a traceback.

Every malformed spec — as a dict through the API, as damaged YAML text on disk, as
``--set`` overrides — must either validate or raise a clear ``SpecError``/``DataError``
(both :class:`~seqforge.errors.SeqforgeError`). Data-level damage (windows longer than the
data, empty, ragged, non-numeric or binary files, degenerate splits) goes through
``dry_run`` — data loading, model, one batch — with the same rule.

Example counts (``ci`` profile): 600 dict specs + 350 YAML texts + 100 override lists +
40 dry runs = 1,090, plus an empty-file check of every registered file-reading dataset.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: helpers
from fuzz_strategies import PROBE, damaged_text, fuzz_settings, malformed_specs, overrides
from seqforge.api import dry_run
from seqforge.errors import DataError, SeqforgeError, SpecError
from seqforge.plugins import get_registry
from seqforge.spec.validate import load_spec

#: outcome counts per property (each test prints its own; read them with ``-s``)
COUNTS: dict[str, Counter] = {}


def _outcome(counter: Counter, fn, *args, **kwargs):
    """Run ``fn``; a SeqforgeError is a fine outcome, anything else fails the example."""
    counter["examples"] += 1
    try:
        result = fn(*args, **kwargs)
    except (SpecError, DataError) as e:
        counter[type(e).__name__] += 1
        text = str(e)
        assert text.strip() and "Traceback" not in text
        return None
    except SeqforgeError as e:  # other user-facing errors (run dir, plugins) are fine too
        counter[type(e).__name__] += 1
        return None
    counter["valid"] += 1
    return result


def _check_valid(spec) -> None:
    """A spec that validates must also resolve and serialise (what a run dir writes)."""
    resolved = spec.resolved()
    yaml.safe_load(yaml.safe_dump(resolved, sort_keys=False))


def test_malformed_dict_specs_give_spec_errors_only():
    seen = COUNTS.setdefault("dict specs", Counter())

    @fuzz_settings(600)
    @given(malformed_specs())
    def prop(spec):
        got = _outcome(seen, load_spec, spec)
        if got is not None:
            _check_valid(got)

    prop()
    print(f"\ndict specs: {dict(seen)}")
    assert seen["examples"] >= 600
    assert seen["SpecError"] + seen["SpecErrors"] > seen["examples"] // 2  # mostly malformed


def test_damaged_yaml_files_give_spec_errors_only(tmp_path_factory):
    seen = COUNTS.setdefault("yaml files", Counter())
    path = tmp_path_factory.mktemp("fuzz_yaml") / "spec.yaml"

    @fuzz_settings(350)
    @given(st.data())
    def prop(data):
        spec = data.draw(malformed_specs(odd_keys_allowed=False))
        try:
            text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
        except yaml.YAMLError:  # e.g. tuple keys cannot be safe-dumped: not a file anyway
            return
        path.write_bytes(data.draw(damaged_text(text)))
        got = _outcome(seen, load_spec, path)
        if got is not None:
            _check_valid(got)

    prop()
    print(f"\nyaml files: {dict(seen)}")
    assert seen["examples"] >= 300


def test_overrides_give_spec_errors_only():
    seen = COUNTS.setdefault("overrides", Counter())

    @fuzz_settings(100)
    @given(overrides)
    def prop(sets):
        got = _outcome(seen, load_spec, PROBE, overrides=sets)
        if got is not None:
            _check_valid(got)

    prop()
    print(f"\noverrides: {dict(seen)}")
    assert seen["examples"] >= 100


# -- data level ------------------------------------------------------------------------------

ROWS_OK = "".join(f"{i},{math.sin(i / 7):.4f}\n" for i in range(300))
DATA_FILES = {
    "good.csv": "step,value\n" + ROWS_OK,
    "empty.csv": "",
    "header_only.csv": "step,value\n",
    "one_row.csv": "step,value\n1,0.5\n",
    "twelve_rows.csv": "step,value\n" + "".join(f"{i},{i}\n" for i in range(12)),
    "text_values.csv": "step,value\n" + "".join(f"{i},abc\n" for i in range(50)),
    "nan_cells.csv": "step,value\n" + "".join(f"{i},{'nan' if i % 9 == 0 else i}\n"
                                              for i in range(80)),
    "ragged.csv": "step,value\n1,2\n3,4,5\n6\n" + ROWS_OK,
    "blank_lines.csv": "step,value\n\n\n" + ROWS_OK.replace("\n", "\n\n"),
    "constant.csv": "step,value\n" + "".join(f"{i},1.0\n" for i in range(200)),
    "huge.csv": "step,value\n" + "".join(f"{i},{1e308 if i % 2 else -1e308}\n" for i in range(100)),
    "infinite.csv": "step,value\n" + "".join(f"{i},{'inf' if i == 50 else i}\n"
                                             for i in range(100)),
    "bom.csv": "\ufeffstep,value\n" + ROWS_OK,
    "dup_header.csv": "value,value\n" + ROWS_OK,
    "dates_unsorted.csv": "date,value\n2020-01-03,1\n2020-01-01,2\n2020-01-02,3\n" * 30,
    "semicolons.csv": "step;value\n" + ROWS_OK.replace(",", ";"),
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz_data")
    for name, text in DATA_FILES.items():
        (d / name).write_text(text, encoding="utf-8")
    (d / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (d / "a_directory.csv").mkdir()
    return d


def _cells() -> list[str]:
    return get_registry().names("cell")


@pytest.mark.slow
def test_data_level_damage_gives_data_or_spec_errors_in_dry_run(data_dir):
    seen = COUNTS.setdefault("dry runs", Counter())
    sources = [str(data_dir / n) for n in [*DATA_FILES, "binary.csv", "a_directory.csv",
                                          "missing.csv"]] + ["builtin:goog", "builtin:nope"]

    @fuzz_settings(40)
    @given(source=st.sampled_from(sources),
           target=st.sampled_from(["value", "Value", "nope", ["value", "step"], "Open"]),
           window=st.one_of(st.integers(1, 12), st.sampled_from([250, 299, 1000, 100_000])),
           horizon=st.one_of(st.integers(1, 3), st.sampled_from([290, 10_000])),
           val=st.sampled_from([0.0, 0.05, 0.1, 0.5, 0.9]),
           test=st.sampled_from([0.0, 0.05, 0.2, 0.9]),
           scaler=st.sampled_from(["minmax", "standard", "none"]),
           cell=st.sampled_from(_cells()),
           strategy=st.sampled_from(["direct", "recursive"]))
    def prop(source, target, window, horizon, val, test, scaler, cell, strategy):
        spec = {"name": "fuzz_data", "seed": 0,
                "data": {"dataset": "timeseries_csv", "source": source, "target": target,
                         "window": window, "horizon": horizon, "val": val, "test": test,
                         "scaler": scaler},
                "model": {"topology": "many_to_one", "cell": cell, "hidden_size": 3},
                "task": {"name": "forecast", "strategy": strategy},
                "train": {"batch_size": 4, "threads": 1}}
        _outcome(seen, lambda: dry_run(load_spec(spec)))

    prop()
    print(f"\ndry runs: {dict(seen)}")
    assert seen["examples"] >= 40


def _file_datasets() -> list[str]:
    reg = get_registry()
    return sorted(n for n in reg.names("dataset")
                  if "source" in getattr(reg.get("dataset", n).Params, "model_fields", {}))


def _fitting_spec(dataset: str, source) -> dict | None:
    """A spec pairing ``dataset`` with the first topology and task that validate."""
    reg = get_registry()
    for task in reg.names("task"):
        for topo in reg.names("topology"):
            spec = {"name": "empty_probe", "data": {"dataset": dataset, "source": source},
                    "model": {"topology": topo, "cell": "gru", "hidden_size": 4},
                    "task": task, "train": {"batch_size": 2, "threads": 1}}
            try:
                load_spec(spec)
            except SpecError:
                continue
            return spec
    return None


@pytest.mark.parametrize("dataset", _file_datasets())
@pytest.mark.parametrize("kind", ["empty", "header only", "binary", "directory", "missing"])
def test_every_file_dataset_refuses_an_unusable_file_clearly(dataset, kind, tmp_path):
    """``source:`` pointing at an empty / useless file is a DataError naming the file."""
    path = tmp_path / ("data.txt" if kind != "directory" else "dir.csv")
    if kind == "empty":
        path.write_text("")
    elif kind == "header only":
        path.write_text("source,target,text,label,value,date\n")
    elif kind == "binary":
        path.write_bytes(b"\x00\xff\xfe" * 100)
    elif kind == "directory":
        path.mkdir()
    spec = _fitting_spec(dataset, str(path)) or _fitting_spec(dataset, [str(path)])
    if spec is None:
        pytest.skip(f"no registered task/topology validates with dataset {dataset!r}")
    with pytest.raises(SeqforgeError) as e:
        dry_run(load_spec(spec))
    assert isinstance(e.value, (DataError, SpecError))
    assert path.name in str(e.value)



@pytest.mark.parametrize("hidden, layers, cell", [(65_536, 1, "lstm"), (30_000, 1, "lstm"),
                                                  (16_384, 64, "rnn")])
def test_sizes_valid_alone_but_unallocatable_together_are_spec_errors(hidden, layers, cell):
    """Each key is within its own bounds; the product would be a multi-GB allocation that
    ends in an out-of-memory kill instead of an error — refused at validation."""
    spec = {**PROBE, "model": {**PROBE["model"], "hidden_size": hidden, "num_layers": layers,
                               "cell": cell}}
    with pytest.raises(SpecError, match=r"model\.hidden_size.*billion recurrent weights"):
        load_spec(spec)
