"""The Student-t forecast head: its quantiles (Newton on a Gauss–Legendre CDF — torch has
no t inverse CDF) and log-likelihood against scipy's, and the head trained end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seqforge.tasks.scoring.distributions import student_t_nll, student_t_quantiles, t_quantile

stats = pytest.importorskip("scipy.stats")

QS = [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999]


@pytest.mark.parametrize("df", [2.0001, 2.05, 2.5, 3.0, 5.0, 30.0, 1e4])
def test_quantiles_match_scipy(df):
    got = t_quantile(torch.tensor(QS, dtype=torch.float64), torch.tensor(df)).numpy()
    want = stats.t.ppf(QS, df)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def _raw(v: float) -> float:
    """softplus⁻¹, so a head output gives exactly the scale / df wanted."""
    return math.log(math.expm1(v))


def test_head_quantiles_and_nll_use_location_scale_and_df():
    loc, scale, df = 3.0, 2.0, 4.0
    # (B=1, Hz=1, P=3, T=1): location, raw scale, raw degrees of freedom (2 + softplus)
    out = torch.tensor([loc, _raw(scale - 1e-4), _raw(df - 2.0)], dtype=torch.float64)
    out = out.view(1, 1, 3, 1)
    q = student_t_quantiles(out, QS)[0, 0, :, 0].numpy()
    np.testing.assert_allclose(q, stats.t.ppf(QS, df, loc=loc, scale=scale), rtol=1e-6)
    y = torch.tensor([[[0.5]]], dtype=torch.float64)
    want = -stats.t.logpdf(0.5, df, loc=loc, scale=scale)
    assert float(student_t_nll(out, y)) == pytest.approx(want, rel=1e-9)


def test_gradients_reach_every_parameter_and_extreme_outputs_stay_finite():
    out = torch.randn(4, 2, 3, 1, dtype=torch.float64, requires_grad=True)
    y = torch.randn(4, 2, 1, dtype=torch.float64)
    student_t_nll(out, y).backward()
    assert out.grad is not None and bool((out.grad.abs() > 0).all())
    # raw df → -inf is df → 2 (finite variance), raw scale → -inf a scale of 1e-4
    extreme = torch.tensor([0.0, -50.0, -50.0]).view(1, 1, 3, 1)
    assert torch.isfinite(student_t_nll(extreme, torch.zeros(1, 1, 1)))
    q = student_t_quantiles(extreme, [0.1, 0.5, 0.9])
    assert torch.isfinite(q).all() and float(q[0, 0, 0, 0]) < 0 < float(q[0, 0, 2, 0])
