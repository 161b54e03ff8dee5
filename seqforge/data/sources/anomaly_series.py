"""``anomaly_series``: windows over one numeric series, for reconstruction-based detection.

The series is cut by time into a *normal* prefix and the rest. The model is trained on
windows of the first part of the prefix only ("trained on normal data"); windows of the
prefix's last ``val`` share are the validation split, whose reconstruction errors set
the anomaly threshold; the test split covers every point after the prefix — the part
that is searched for anomalies and, where labels exist, scored against them.

Test windows start up to ``window - 1`` steps *before* the test part, so every test
point lies in exactly ``window`` windows (fewer only at the very end of the series),
as when the detector runs over a live stream. Only test points are ever scored.

Sources: ``builtin:synthetic`` (:func:`seqforge.data.synthetic.anomaly_series`: a
seasonal signal with labelled spikes, level shifts, flat-lines and noise bursts, none in
the normal prefix), a CSV with a value column and an optional 0/1 label column, or a
labelled series the aeon package ships (``builtin:aeon/KDD-TSAD_135/…_TEST.csv``, from
the UCR anomaly archive; ``pip install 'seqforge[series]'``).
Labelled anomalies that fall inside the prefix are kept out of training and validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field

from ...errors import DataError
from ...kinds import Shape
from ..base import DataBundle, DataInfo, DataParams, DatasetSource, Inputs, TensorItems, fingerprint
from ..base import columns_of
from ..facets import AnomalyWindows
from ..generators.synthetic import anomaly_series
from ..io.aeon_data import PREFIX, aeon_file, is_aeon
from ..io.csv_series import load_series_csv
from ..io.table import Table, as_table, resolve_columns
from ..memory import check_fits
from ..transforms.scalers import make_scaler
from ..transforms.windowing import windows_at

SYNTHETIC = "builtin:synthetic"
#: generator keys that only make sense for builtin:synthetic
_GENERATOR_KEYS = ("length", "n_anomalies", "noise", "data_seed")


class AnomalyParams(DataParams):
    source: str = Field(SYNTHETIC, description="builtin:synthetic, or a CSV path "
                        "(relative to the spec)")
    value_column: str = Field("value", description="CSV column holding the series")
    label_column: str | None = Field(
        "label", description="CSV column of 0/1 anomaly labels; used when present; a "
        "name other than 'label' is an error when missing; null: never read labels")
    date_column: str | None = Field("auto", description="auto, a column name, or null for none")
    window: int = Field(48, ge=2, le=100_000, description="steps per window")
    stride: int = Field(1, ge=1, le=100_000, description="steps between training windows")
    normal_fraction: float = Field(
        0.4, gt=0, lt=1, description="leading share of the series taken as normal (train + val)")
    val: float = Field(0.25, gt=0, lt=1, description="share of the normal prefix held out for "
                       "the threshold")
    scaler: Literal["standard", "minmax", "none"] = "standard"
    center: bool = Field(True, description="subtract each window's own mean, so the model "
                         "learns shapes, not levels (a slow drift is then not an anomaly)")
    # builtin:synthetic only
    length: int = Field(4000, ge=100, le=10_000_000, description="synthetic series length")
    n_anomalies: int = Field(12, ge=0, le=100_000, description="synthetic anomalies injected")
    noise: float = Field(0.05, ge=0, description="synthetic noise std")
    data_seed: int = Field(0, ge=0, description="synthetic series seed (fixed: the data does "
                           "not change with the training seed)")


def _default(key: str) -> Any:
    return AnomalyParams.model_fields[key].default


class AnomalySeries(DatasetSource):
    """Sliding windows over one series, split into normal train/val and the searched rest."""

    Params = AnomalyParams
    provides = Shape.SEQUENCE
    facets = (AnomalyWindows,)

    # -- reading -----------------------------------------------------------------------------
    def _read(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, str]:
        """-> values (N,), labels (N,) int8 or None, dates (N,) or None, source."""
        p = self.params
        if p.source == SYNTHETIC:
            values, labels = anomaly_series(length=p.length, seed=p.data_seed,
                                            n_anomalies=p.n_anomalies,
                                            clean_fraction=p.normal_fraction, noise=p.noise)
            return values[:, 0].astype(np.float64), labels, None, SYNTHETIC
        if p.source.startswith("builtin:") and not is_aeon(p.source):
            raise DataError(f"unknown built-in series {p.source!r}; the built-in one is "
                            f"{SYNTHETIC!r} (or a labelled series aeon ships, "
                            f"{PREFIX}KDD-TSAD_135/…), anything else is a CSV path",
                            source=p.source)
        # by value, not by which keys were written: a run directory's spec.resolved.yaml
        # writes every key, so "set" would refuse every run trained on a CSV
        given = [k for k in _GENERATOR_KEYS if getattr(p, k) != _default(k)]
        if given:
            raise DataError(f"data.{given[0]} applies only to source {SYNTHETIC}; "
                            "remove it for a CSV source", source=p.source)
        path = aeon_file(p.source) if is_aeon(p.source) else self.resolve_path(p.source)
        return self.read_csv(path, labels=True)

    def read_csv(self, path: Path | Table, *, labels: bool) -> tuple[np.ndarray, np.ndarray | None,
                                                                    np.ndarray | None, str]:
        """The value column (and, with ``labels``, the label column) of a CSV file."""
        p = self.params
        table = as_table(path)
        header = table.header
        resolve_columns([p.value_column], header, table.source)  # names the columns it has
        cols = [p.value_column]
        label_col = None
        if labels and p.label_column is not None:
            explicit = p.label_column != _default("label_column")  # (by value, as above)
            present = p.label_column.lower() in (h.lower() for h in header)
            if present or explicit:
                resolve_columns([p.label_column], header, table.source)
                label_col = p.label_column
                cols.append(label_col)
        series = load_series_csv(table, columns=cols, date_column=p.date_column)
        values = series.values[:, 0]
        lab = None
        if label_col is not None:
            raw = series.values[:, 1]
            bad = np.flatnonzero((raw != 0) & (raw != 1))
            if bad.size:
                raise DataError(f"label column {label_col!r} must hold 0 or 1; data row "
                                f"{int(bad[0]) + 1} holds {raw[bad[0]]:g}", source=series.source)
            lab = raw.astype(np.int8)
        return values, lab, series.dates, series.source

    # -- the bundle ------------------------------------------------------------------------
    def load(self) -> DataBundle:
        p = self.params
        values, labels, dates, source = self._read()
        n, W = len(values), p.window
        prefix = int(np.ceil(p.normal_fraction * n))
        n_val = int(round(prefix * p.val))
        train_end = prefix - n_val
        for part, size in (("training", train_end), ("validation", n_val)):
            if size < W:
                raise DataError(
                    f"the {part} part of the normal prefix has {size} points, fewer than one "
                    f"window of {W} — lower data.window, or raise data.normal_fraction / "
                    f"data.val (series of {n} points)", source=source)
        if prefix >= n:
            raise DataError(f"normal_fraction {p.normal_fraction} leaves no points to search",
                            source=source)
        check_fits(4.0 * n * W * 2, f"{n:,} windows of {W} points", "data.window", source)
        scaler = (self.saved.facet(AnomalyWindows).scaler if self.saved is not None else
                  make_scaler(p.scaler).fit(values[:train_end, None]))
        scaled = scaler.transform(values[:, None]).astype(np.float32)  # (N, 1)

        def clean_starts(lo: int, hi: int, stride: int) -> np.ndarray:
            """Starts of windows inside [lo, hi) that touch no labelled anomaly."""
            starts = np.arange(lo, hi - W + 1, stride)  # (M,)
            if labels is not None and starts.size:
                hits = sliding_window_view(labels, W)[starts].any(axis=1)  # (M,)
                starts = starts[~hits]
            if not starts.size:
                raise DataError(f"no anomaly-free window of {W} points between points {lo} and "
                                f"{hi}; the normal prefix must be normal", source=source)
            return starts

        train_s = clean_starts(0, train_end, p.stride)
        val_s = clean_starts(train_end, prefix, 1)
        test_s = np.arange(max(prefix - W + 1, 0), n - W + 1)  # every window touching the test part
        splits = {name: self._items(scaled, s)
                  for name, s in (("train", train_s), ("val", val_s), ("test", test_s))}
        facet = AnomalyWindows(
            window=W, center=p.center, scaler=scaler,
            value_column=p.value_column if source != SYNTHETIC else "value",
            values=values, scaled=scaled[:, 0], labels=labels, dates=dates,
            parts={"train": (0, train_end), "val": (train_end, prefix), "test": (prefix, n)})
        info = DataInfo(input=Shape.SEQUENCE, n_features=1, n_targets=1).with_facets(facet)
        return DataBundle(splits["train"], splits["val"], splits["test"], info, source=source,
                          fingerprint=fingerprint(values, labels, p.model_dump_json()))

    def _items(self, scaled: np.ndarray, starts: np.ndarray) -> TensorItems:
        x = torch.from_numpy(windows_at(scaled, self.params.window, starts,
                                        center=self.params.center))  # (M, W, 1)
        # the target is the input itself: the model must rebuild what it read
        return TensorItems(x=x, y=x, start=torch.from_numpy(starts.astype(np.int64)))

    # -- for the contract kit ------------------------------------------------------------
    def example_keys(self, bundle: DataBundle, split: str) -> set[int]:
        """The points a split's windows are scored on: every point of a train or val
        window; of a test window, its points in the searched part (test windows start up
        to ``window - 1`` points earlier by design, but only test points are scored)."""
        facet = bundle.info.facet(AnomalyWindows)
        W, (lo, hi) = facet.window, facet.parts[split]
        starts = columns_of(bundle.split(split), "start")["start"].tolist()
        if split != "test":
            lo, hi = 0, len(facet.values)
        return {t for s in starts for t in range(max(int(s), lo), min(int(s) + W, hi))}

    def example_inputs(self, bundle: DataBundle) -> Table:
        """The last points of the series as a file would hold them: the value column, and
        the labels when the series has them."""
        facet = bundle.info.facet(AnomalyWindows)
        n = min(len(facet.values), 3 * facet.window)
        table: dict[str, list] = {facet.value_column: facet.values[-n:].tolist()}
        if facet.labels is not None:
            table[self.params.label_column or "label"] = facet.labels[-n:].tolist()
        return as_table(table, source=f"the last {n} points of the series")

    # -- prediction from a file ----------------------------------------------------------
    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """A user's table (the training value column) → one item: the whole series, scaled
        as in training; the task scores every point of it.

        There is no target to score such an item against (``targets=True``): a new
        labelled series is scored as the run's data, split as in training."""
        if targets:
            raise DataError("a new series is scored as the run's data, split as in training: "
                            "seqforge evaluate RUN --data source=FILE (seqforge predict RUN "
                            "--input FILE flags its points)",
                            source=str(getattr(inputs, "source", inputs)))
        values, _, dates, source = self.read_csv(inputs, labels=False)
        W = self.params.window
        if len(values) < W:
            raise DataError(f"needs at least {W} rows (the model's window) but has "
                            f"{len(values)}", source=source)
        scaled = info.facet(AnomalyWindows).scaler.transform(values[:, None]).astype(np.float32)
        item: dict[str, Any] = {"x": torch.from_numpy(scaled),  # (N, 1)
                                "series": source,
                                "raw": values.tolist()}
        if dates is not None:
            item["dates"] = [str(d) for d in dates]
        return [item]
