"""The plugin's dataset, optimizer and schedule — and that seqforge finds them installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import seqforge
from seqforge.plugins import get_registry
from seqforge_extras.lion import LionOptimizer
from seqforge_extras.mackey_glass import mackey_glass

SPEC = Path(__file__).resolve().parents[3] / "specs" / "mackey_glass_lnlstm.yaml"


def test_installed_entry_point_registers_every_component():
    reg = get_registry()
    for kind, name in [("cell", "layernorm_lstm"), ("dataset", "mackey_glass"),
                       ("optimizer", "lion"), ("scheduler", "one_cycle")]:
        entry = reg.entry(kind, name)
        assert (entry.plugin, entry.origin) == ("seqforge-extras", "entry point")


def test_mackey_glass_is_bounded_chaotic_and_deterministic():
    x = mackey_glass(2000)
    assert x.shape == (2000,) and np.isfinite(x).all()
    assert 0.2 < x.min() < x.max() < 1.6  # the attractor's known range for τ = 17
    np.testing.assert_array_equal(x, mackey_glass(2000))
    # aperiodic: no exact repeat of a long stretch
    assert not np.allclose(x[:500], x[500:1000], atol=1e-3)


def test_lion_step_matches_its_formula():
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(5))
    opt = LionOptimizer([p], lr=0.1, betas=(0.9, 0.99), weight_decay=0.01)
    m = torch.zeros(5)
    for _ in range(3):
        g = torch.randn(5)
        before = p.detach().clone()
        p.grad = g.clone()
        opt.step()
        expect = before * (1 - 0.1 * 0.01) - 0.1 * torch.sign(0.9 * m + 0.1 * g)
        torch.testing.assert_close(p.detach(), expect)
        m = 0.99 * m + 0.01 * g


@pytest.mark.slow
def test_shipped_plugin_spec_trains(tmp_path):
    spec = seqforge.load_spec(SPEC, overrides=["train.epochs=2", "data.length=800"])
    run = seqforge.train(spec, out=tmp_path)
    lrs = [r["lr"] for r in run.history]
    assert len(lrs) == 2 and all(np.isfinite(r["train_loss"]) for r in run.history)
    assert run.summary["baseline"]["name"] == "persistence"
    assert (run.dir / "forecast.png").exists()
