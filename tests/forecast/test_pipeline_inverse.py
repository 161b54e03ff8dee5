"""The whole forecasting pipeline inverts exactly: for random series and any mix of
transform, scaler, window normalisation and residual targets, every item's model-unit
target ``y`` goes back (through :func:`seqforge.data.forecasting.invert.to_raw`) to its
true raw value ``y_raw`` — and a loaded run's DataInfo does the same with no data."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from seqforge.data.forecasting.invert import to_raw
from seqforge.data.info import DataInfo
from seqforge.data.io.csv_series import Series
from seqforge.data.sources.timeseries_csv import TimeseriesCSV, TimeseriesParams


class InMemory(TimeseriesCSV):
    values: np.ndarray

    def _series(self) -> Series:
        return Series(dates=None, values=self.values, columns=["v", "w"], source="memory")


@settings(max_examples=25, deadline=None)
@given(v=arrays(np.float64, st.tuples(st.integers(40, 70), st.just(2)),
                elements=st.floats(0.5, 1e3)),
       transform=st.sampled_from([[], ["diff"], ["log"], ["log_return"], ["pct_change"],
                                  [{"name": "diff", "lag": 3}]]),
       scaler=st.sampled_from(["minmax", "standard", "none"]),
       norm=st.sampled_from(["none", "last", "mean", "standard"]),
       residual=st.sampled_from([True, False, "auto"]), horizon=st.integers(1, 3),
       inputs=st.sampled_from([None, ["v", "w"]]))
def test_model_targets_invert_to_raw_targets(v, transform, scaler, norm, residual, horizon,
                                             inputs):
    params = TimeseriesParams(target=["v"], inputs=inputs, window=6, horizon=horizon,
                              transform=transform, scaler=scaler, window_norm=norm,
                              residual=residual, val=0.2, test=0.2, date_column=None)
    src = InMemory(params)
    src.values = v
    bundle = src.load()
    saved = DataInfo.from_state(bundle.info.to_state())  # what a run directory keeps
    for info in (bundle.info, saved):
        facet = info.facets["series"]
        for ds in (bundle.train, bundle.val, bundle.test):
            c = ds.columns
            y = c["y"].numpy().astype(np.float64).reshape(-1, horizon, 1, 1)
            back = to_raw(facet, y, c["y_loc"].numpy().astype(np.float64),
                          c["y_scale"].numpy().astype(np.float64), c["sid"].numpy(),
                          c["hist"].numpy())
            true = c["y_raw"].numpy().reshape(-1, horizon, 1)
            # y is float32 in model units: exact up to that rounding, scaled back
            np.testing.assert_allclose(back[:, :, 0], true, rtol=2e-4,
                                       atol=2e-4 * np.abs(v).max())
