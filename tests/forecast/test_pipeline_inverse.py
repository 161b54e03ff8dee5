"""The whole forecasting pipeline inverts exactly: for random series and any mix of
transform, scaler, window normalisation and residual targets, every item's model-unit
target ``y`` goes back (through :func:`seqforge.data.forecasting.invert.to_raw`) to its
true raw value ``y_raw`` — and a loaded run's DataInfo does the same with no data."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
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


def _jumps() -> np.ndarray:
    """Flat at 1 with a 535x jump and a fall in the test period (hypothesis found it)."""
    v = np.ones((40, 2))
    v[-8, 0], v[-6, 0] = 535.0, 9.0
    return v


@settings(max_examples=25, deadline=None)
@example(v=_jumps(), transform=["pct_change"], scaler="minmax", norm="none", residual=True,
         horizon=2, inputs=None)
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
            cols = (c["y_loc"].numpy().astype(np.float64),
                    c["y_scale"].numpy().astype(np.float64), c["sid"].numpy(), c["hist"].numpy())
            back = to_raw(facet, y, *cols)
            true = c["y_raw"].numpy().reshape(-1, horizon, 1)
            # y is float32 in model units: exact up to that rounding (half an ulp, 2^-24
            # relative), carried through the inverse — which can amplify it a lot: a
            # compounded pct_change after a 500x jump in the test period turns 1e-7 in
            # model units into 0.1 in raw units. The rounding's reach is measured by
            # pushing every y by one ulp either way.
            ulp = np.abs(y) * 2.0 ** -23
            reach = np.maximum(np.abs(to_raw(facet, y + ulp, *cols) - back),
                               np.abs(to_raw(facet, y - ulp, *cols) - back))[:, :, 0]
            err = np.abs(back[:, :, 0] - true)
            allowed = 2e-4 * np.abs(true) + 2e-4 * np.abs(v).max() + 2 * reach
            assert np.all(err <= allowed), (err.max(), (err - allowed).max())
