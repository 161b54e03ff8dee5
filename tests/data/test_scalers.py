"""scalers: exact round trips, column subsets, constant columns, saved state."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from seqforge.data.transforms.scalers import SCALERS, MinMaxScaler, Scaler, StandardScaler, make_scaler
from seqforge.errors import DataError

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
tables = st.integers(1, 30).flatmap(
    lambda n: st.integers(1, 4).flatmap(lambda c: arrays(np.float64, (n, c), elements=finite))
)


@settings(max_examples=50, deadline=None)
@given(x=tables, kind=st.sampled_from(sorted(SCALERS)))
def test_inverse_of_transform_is_identity(x, kind):
    scaler = make_scaler(kind).fit(x)
    z = scaler.transform(x)
    assert np.all(np.isfinite(z))
    np.testing.assert_allclose(scaler.inverse_transform(z), x, rtol=1e-9, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(x=tables)
def test_minmax_maps_training_range_onto_feature_range(x):
    z = MinMaxScaler((-1, 1)).fit_transform(x)
    assert z.min() >= -1 - 1e-9 and z.max() <= 1 + 1e-9


def test_column_subset_inverse_and_window_shapes():
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, size=(50, 4))
    scaler = StandardScaler().fit(x)
    z = scaler.transform(x)
    np.testing.assert_allclose(scaler.inverse_transform(z[:, [2]], columns=[2]), x[:, [2]])
    np.testing.assert_allclose(scaler.inverse_transform(z[:, 2], columns=[2]), x[:, 2])
    windows = z[:12].reshape(3, 4, 4)  # (M, T, C)
    np.testing.assert_allclose(scaler.inverse_transform(windows), x[:12].reshape(3, 4, 4))
    with pytest.raises(DataError, match="4 columns"):
        scaler.inverse_transform(z, columns=[7])
    with pytest.raises(DataError, match="expected 1 columns"):
        scaler.inverse_transform(z, columns=[0])


def test_constant_column_does_not_divide_by_zero():
    x = np.array([[3.0, 1.0], [3.0, 2.0], [3.0, 5.0]])
    for kind in SCALERS:
        scaler = make_scaler(kind).fit(x)
        z = scaler.transform(x)
        assert np.all(np.isfinite(z))
        np.testing.assert_allclose(scaler.inverse_transform(z), x)


def test_state_round_trips_through_json_and_torch_weights_only():
    x = np.random.default_rng(1).uniform(-2, 9, size=(20, 3))
    for kind in SCALERS:
        scaler = make_scaler(kind).fit(x)
        state = json.loads(json.dumps(scaler.state_dict()))
        buf = io.BytesIO()
        torch.save({"scaler": scaler.state_dict()}, buf)
        buf.seek(0)
        loaded = torch.load(buf, weights_only=True)["scaler"]
        for restored in (Scaler.from_state(state), SCALERS[kind].from_state(loaded)):
            assert type(restored) is SCALERS[kind]
            np.testing.assert_allclose(restored.transform(x), scaler.transform(x))


def test_errors():
    with pytest.raises(DataError, match="did you mean 'minmax'"):
        make_scaler("minmx")
    with pytest.raises(DataError, match="NaN"):
        MinMaxScaler().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(DataError):
        StandardScaler().fit(np.zeros((0, 2)))
    with pytest.raises(DataError):
        MinMaxScaler((1, 0))
    with pytest.raises(DataError, match="not 'minmax'"):
        MinMaxScaler.from_state(StandardScaler().fit(np.ones((2, 1))).state_dict())
    with pytest.raises(DataError, match="malformed"):
        Scaler.from_state({"kind": "standard", "n_features": 2, "mean": [0.0]})
    with pytest.raises(RuntimeError, match="before fit"):
        StandardScaler().transform(np.ones((2, 2)))
