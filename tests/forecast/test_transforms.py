"""Target transforms and window normalisation: forward → inverse is the identity (a
hypothesis property on random series, negative and zero values included where the
transform allows them), and a clear error where a transform cannot apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from seqforge.data.transforms.target import Chain, TransformSpec
from seqforge.data.transforms.window_norm import normalise, restore, target_stats, window_stats
from seqforge.errors import DataError

CHAINS = {
    "diff": ["diff"],
    "diff2_lag3": [{"name": "diff", "order": 2, "lag": 3}],
    "log": ["log"],
    "log_return": ["log_return"],
    "pct_change": ["pct_change"],
    "log_then_seasonal_diff": ["log", {"name": "diff", "lag": 4}],
}
#: which values each chain takes: any real, positive only, or non-zero
DOMAIN = {"diff": "any", "diff2_lag3": "any", "log": "pos", "log_return": "pos",
          "pct_change": "nonzero", "log_then_seasonal_diff": "pos"}


def series_for(domain: str):
    if domain == "pos":
        elems = st.floats(1e-3, 1e4)
    elif domain == "nonzero":
        elems = st.floats(-1e4, 1e4).filter(lambda v: abs(v) > 1e-3)
    else:
        elems = st.one_of(st.just(0.0), st.floats(-1e4, 1e4))
    return arrays(np.float64, st.tuples(st.integers(12, 40), st.integers(1, 3)), elements=elems)


@pytest.mark.parametrize("name", CHAINS)
@given(data=st.data())
def test_inverse_of_forward_is_identity(name, data):
    """Forecasts equal to the transformed truth invert to the raw truth, at every origin."""
    v = data.draw(series_for(DOMAIN[name]))
    chain = Chain(CHAINS[name])
    chain.check(v, [f"c{k}" for k in range(v.shape[1])], "test")
    z = chain.forward(v)  # (N - lag, C): z[j] belongs to raw row j + lag
    lag, hz = chain.lag, data.draw(st.integers(1, 4))
    origins = np.arange(lag, len(v) - hz + 1)
    hist = np.stack([v[t - lag:t] for t in origins])  # (M, lag, C)
    future = np.stack([z[t - lag:t - lag + hz] for t in origins])  # (M, Hz, C)
    truth = np.stack([v[t:t + hz] for t in origins])
    back = chain.inverse(future, hist)
    np.testing.assert_allclose(back, truth, rtol=1e-7, atol=1e-6 * (1 + np.abs(v).max()))


@pytest.mark.parametrize("value", [0.0, -1.5])
def test_log_of_non_positive_names_column_and_row(value):
    v = np.array([[1.0, 2.0], [3.0, value], [4.0, 5.0]])
    with pytest.raises(DataError) as err:
        Chain(["log"]).check(v, ["a", "b"], "prices.csv")
    msg = str(err.value)
    assert "'b'" in msg and "row 2" in msg and "log needs values > 0" in msg
    assert err.value.path == "data.transform"


def test_pct_change_refuses_zero_and_short_series():
    with pytest.raises(DataError, match="relative to 0"):
        Chain(["pct_change"]).check(np.array([[1.0], [0.0], [2.0]]), ["v"], "x")
    with pytest.raises(DataError, match="drops 6 rows"):
        Chain([{"name": "diff", "order": 2, "lag": 3}]).check(np.ones((5, 1)), ["v"], "x")


def test_order_and_lag_apply_to_diff_only():
    with pytest.raises(ValueError, match="diff only"):
        TransformSpec.model_validate({"name": "log", "lag": 2})
    assert TransformSpec.model_validate("log_return").name == "log_return"


@pytest.mark.parametrize("mode", ["none", "last", "mean", "standard"])
@given(x=arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(2, 9), st.integers(1, 3)),
                elements=st.floats(-100, 100, width=32)), residual=st.booleans())
def test_window_norm_restores_exactly(mode, x, residual):
    t = torch.from_numpy(x)
    loc, scale = window_stats(t, mode)
    assert (scale > 0).all()
    back = restore(normalise(t, loc, scale), loc, scale)
    torch.testing.assert_close(back, t, rtol=1e-4, atol=1e-3)
    tl, ts = target_stats(t, mode, residual)
    if residual or mode == "last":
        torch.testing.assert_close(tl, t[:, -1])
