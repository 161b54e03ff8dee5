"""Known-future covariates (``data.future``): a column whose values for the predicted rows
are known in advance. On a series driven by a promotion flag that its own past cannot
foretell, only a model that reads the flag beats the baselines; a standalone run
forecasts past a file's end from rows that hold only the flag; every misuse is exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers import spec  # noqa: E402

from seqforge.api import load_run, load_spec, train  # noqa: E402
from seqforge.cli.app import app  # noqa: E402
from seqforge.data.facets import Series as SeriesFacet  # noqa: E402
from seqforge.data.forecasting.future import split_future_rows  # noqa: E402
from seqforge.data.io.table import as_table  # noqa: E402
from seqforge.data.transforms.scalers import make_scaler  # noqa: E402
from seqforge.errors import DataError  # noqa: E402

runner = CliRunner()
EFFECT = 15.0  # sales on a promotion day


def promo_csv(path: Path, rows: int = 400, seed: int = 0) -> Path:
    """date,sales,promo: a weekly cycle plus EFFECT on days of a random (unforecastable)
    promotion flag, plus noise of sd 1."""
    rng = np.random.default_rng(seed)
    promo = (rng.random(rows) < 0.3).astype(int)
    sales = 100 + 3 * np.sin(2 * np.pi * np.arange(rows) / 7) + EFFECT * promo \
        + rng.normal(0, 1, rows)
    days = np.datetime64("2021-01-01") + np.arange(rows)
    path.write_text("date,sales,promo\n" + "".join(
        f"{d},{s:.3f},{q}\n" for d, s, q in zip(days, sales, promo)))
    return path


def promo_spec(csv: Path, future: list[str], **data) -> dict:
    s = spec(csv, data={"target": "sales", "future": future, "window": 14, **data}, epochs=20)
    s["model"]["hidden_size"] = 32
    return s


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("future")
    csv = promo_csv(tmp / "sales.csv")
    return csv, {name: train(load_spec(promo_spec(csv, fut)), out=tmp / "runs", quiet=True)
                 for name, fut in (("without", []), ("with", ["promo"]))}


@pytest.mark.slow
def test_only_the_model_that_reads_the_flag_beats_the_baselines(runs):
    _, r = runs
    best = r["with"].summary["baseline"]["rmse"]  # the same data: the same baselines
    assert r["without"].summary["baseline"]["rmse"] == pytest.approx(best)
    with_rmse = r["with"].summary["test"]["test_rmse"]
    without_rmse = r["without"].summary["test"]["test_rmse"]
    assert with_rmse < 0.5 * best, r["with"].summary  # measured 2.2 vs 7.9
    assert without_rmse > 0.8 * best  # the flag's days cannot be told from the past
    assert r["with"].summary["beats_best_baseline"]


@pytest.mark.slow
def test_a_standalone_run_forecasts_past_the_end_from_the_flag_alone(runs, tmp_path):
    csv, r = runs
    run = load_run(r["with"].dir)
    lines = csv.read_text().splitlines()
    recent = tmp_path / "recent.csv"
    forecasts = {}
    for flag in (0, 1):
        recent.write_text("\n".join([lines[0], *lines[-30:], f"2022-02-05,,{flag}"]) + "\n")
        rows = run.predict(str(recent))
        assert len(rows) == 30 - 14 + 1  # every full window, the last one forecasting 02-05
        assert rows[-1]["after"] == "2022-02-04"
        forecasts[flag] = rows[-1]["sales_t+1"]
    # a table in memory (as /predict receives JSON): None for the cells not known yet
    cells = [line.split(",") for line in lines[-30:]]
    table = {"date": [c[0] for c in cells] + ["2022-02-05"],
             "sales": [float(c[1]) for c in cells] + [None],
             "promo": [int(c[2]) for c in cells] + [1]}
    assert run.predict(table)[-1]["sales_t+1"] == pytest.approx(forecasts[1], abs=1e-4)
    assert forecasts[1] - forecasts[0] > EFFECT / 2, forecasts
    # the CLI: without the row ahead, a clear refusal naming the key and what to add
    recent.write_text("\n".join([lines[0], *lines[-30:]]) + "\n")
    res = runner.invoke(app, ["predict", str(r["with"].dir), "--input", str(recent)])
    assert res.exit_code == 2, res.output
    assert "'promo'" in res.output and "add 1 row(s) at the end" in res.output
    assert "Traceback" not in res.output


def test_future_rows_are_cut_off_the_table():
    facet = SeriesFacet(window=3, horizon=2, columns=["sales", "promo"], inputs=["sales"],
                        targets=["sales"], future=["promo"], scaler=make_scaler("none"))
    table = as_table({"date": ["d1", "d2", "d3", "d4"], "sales": [1.0, 2.0, None, None],
                      "promo": [0, 1, 1, 0]})
    seen, ahead = split_future_rows(table, facet)
    assert [r[1] for r in seen.rows] == ["1.0", "2.0"] and seen.lines == table.lines[:2]
    assert [r[2] for r in ahead.rows] == ["1", "0"]
    with pytest.raises(DataError, match="no observed rows"):
        split_future_rows(as_table({"sales": [None], "promo": [1]}), facet)


@pytest.mark.parametrize("data,task,why", [
    ({"future": ["sales"]}, "forecast", "names the target column"),
    ({"future": ["promo", "PROMO"]}, "forecast", "listed twice"),
    ({"future": ["prom"]}, "forecast", "did you mean 'promo'"),
    ({"future": ["promo"]}, {"name": "forecast", "strategy": "recursive"}, "data.future be empty"),
])
def test_misuse_is_exit_2_naming_the_key(tmp_path, data, task, why):
    csv = promo_csv(tmp_path / "sales.csv", rows=120)
    s = promo_spec(csv, data["future"])
    s["task"] = task
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(s))
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    assert why in res.output and "Traceback" not in res.output
    key = "task.strategy" if isinstance(task, dict) else "data.future"
    assert key in res.output
