"""The shipped forecasting specs win or tie honestly, as their comments say — each run
from the spec file as shipped (seed fixed, CPU, one thread), asserted from its summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqforge.api import load_spec, train

SPECS = Path(__file__).resolve().parents[2] / "specs"
pytestmark = pytest.mark.slow


def summary_of(name: str, out: Path) -> dict:
    """As ``seqforge run`` would: a run directory, so the best epoch's weights score."""
    spec = load_spec(SPECS / f"{name}.yaml", overrides=["train.threads=1", "train.device=cpu"])
    return train(spec, out=out).summary


def test_stock_lstm_ties_persistence(tmp_path):
    s = summary_of("stock_lstm", tmp_path)
    persistence = _named(s, "persistence")["rmse"]
    assert s["test"]["test_rmse"] <= 1.01 * persistence, (s["test"], persistence)
    assert s["baseline"]["name"] == "persistence"  # nothing simple beats tomorrow = today


def test_co2_seasonal_beats_seasonal_naive_by_a_clear_margin(tmp_path):
    s = summary_of("co2_seasonal", tmp_path)
    naive = _named(s, "seasonal_naive")["mase"]
    assert s["test"]["test_mase"] < 0.6 * naive, (s["test"]["test_mase"], naive)
    assert s["beats_best_baseline"] and s["baseline"]["name"] == "seasonal_naive"


def test_co2_quantiles_interval_is_calibrated(tmp_path):
    s = summary_of("co2_quantiles", tmp_path)
    assert 0.75 <= s["test"]["test_coverage"] <= 0.85, s["test"]
    assert s["beats_best_baseline"]


def _named(summary: dict, name: str) -> dict:
    """One baseline's metrics from a summary's ``baselines`` list."""
    return next(b for b in summary["baselines"] if b["name"] == name)
