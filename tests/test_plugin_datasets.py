"""The typed contracts hold for third-party datasets: two datasets defined here — one
providing the ``Series`` facet, one class labels (``Classes``) — train with the built-in
``forecast`` and ``classify`` tasks, unchanged, through a runtime plugin; their run
directories predict on new tables without reading the training data; and both pass the
dataset contract, and the tasks the task contract on them."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from pydantic import Field

import seqforge
from seqforge.data.base import (DataBundle, DataInfo, DataParams, DatasetSource, TensorItems,
                                columns_of, fingerprint)
from seqforge.data.forecasting.prepare import prediction_items, series_splits
from seqforge.data.facets import Classes, Series
from seqforge.data.io.table import as_table, optional_column, resolve_columns
from seqforge.data.transforms.scalers import make_scaler
from seqforge.errors import DataError, SpecError
from seqforge.kinds import Shape
from seqforge.plugins import get_registry, register_plugin, unregister_plugin
from seqforge.tasks.classify import Classify
from seqforge.tasks.forecast import Forecast
from seqforge.testing import DatasetContract, TaskContract


def _floats(table, columns: list[str]) -> np.ndarray:
    """(rows, len(columns)) float64 from a table; a DataError names a bad cell's line."""
    idx = resolve_columns(columns, table.header, table.source)
    out = np.empty((len(table.rows), len(idx)))
    for r, (row, line) in enumerate(zip(table.rows, table.lines)):
        try:
            out[r] = [float(row[k]) for k in idx]
        except ValueError:
            raise DataError("holds a cell that is not a number", source=table.source,
                            line=line) from None
    return out


# -- a series dataset: a seeded random walk, next values from a window --------------------

class WalkParams(DataParams):
    length: int = Field(400, ge=50, le=100_000)
    window: int = Field(12, ge=1, le=1000)
    horizon: int = Field(1, ge=1, le=100)


class RandomWalk(DatasetSource):
    """A random walk with drift; the ``Series`` facet, so ``forecast`` can learn it."""

    Params = WalkParams
    provides = Shape.SEQUENCE
    facets = (Series,)
    loads: ClassVar[int] = 0

    def values(self) -> np.ndarray:
        steps = np.random.default_rng(7).normal(0.05, 1.0, self.params.length)
        return np.cumsum(steps)[:, None]  # (N, 1)

    def facet(self) -> Series:
        p = self.params
        if self.saved is not None:  # a trained run's scaler and options, not refitted
            return self.saved.facet(Series).model_copy(update={"mase_scale": []})
        return Series(window=p.window, horizon=p.horizon, columns=["level"], inputs=["level"],
                      targets=["level"], scaler=make_scaler("standard"))

    def load(self) -> DataBundle:
        type(self).loads += 1
        p = self.params
        v = self.values()
        cut = [int(len(v) * 0.7), int(len(v) * 0.85), len(v)]
        facet = self.facet()
        # first-target rows of each split: a window's inputs may reach back into the part
        # before it, its targets never
        parts = {name: (max(lo, facet.history), hi - p.horizon + 1)
                 for name, lo, hi in zip(("train", "val", "test"), [0] + cut[:2], cut)}
        cols = series_splits(facet, v, parts, fit="standard" if self.saved is None else None)
        if self.saved is not None:
            facet.mase_scale = list(self.saved.facet(Series).mase_scale)
        info = DataInfo(input=Shape.SEQUENCE, n_features=1, n_targets=1).with_facets(facet)
        return DataBundle(*(TensorItems(**cols[k]) for k in ("train", "val", "test")), info,
                          source="random walk", fingerprint=fingerprint(v, p.model_dump_json()))

    def read_inputs(self, inputs, info, *, targets=False) -> list[dict[str, Any]]:
        if targets:
            raise DataError("score a walk through its splits", source="inputs")
        table = as_table(inputs)
        return prediction_items(info.facet(Series), _floats(table, ["level"]),
                                source=table.source)

    def example_keys(self, bundle, split) -> set[int]:
        t = columns_of(bundle.split(split), "t")["t"].tolist()
        return {r + h for r in t for h in range(self.params.horizon)}

    def example_inputs(self, bundle):
        return as_table({"level": self.values()[-20:, 0].tolist()}, source="the walk's end")


# -- a classes dataset: the shape of a short curve -----------------------------------------------

SHAPES = ("falling", "flat", "rising")


class ShapeParams(DataParams):
    n: int = Field(300, ge=30, le=100_000)
    steps: int = Field(16, ge=4, le=1000)


class CurveShapes(DatasetSource):
    """Noisy curves that fall, stay flat or rise; the ``Classes`` facet, for ``classify``."""

    Params = ShapeParams
    provides = Shape.SEQUENCE
    facets = (Classes,)

    def load(self) -> DataBundle:
        p = self.params
        rng = np.random.default_rng(self.seed)
        y = rng.integers(0, len(SHAPES), p.n)  # (N,)
        slope = (y - 1)[:, None] * np.linspace(0, 1, p.steps)[None]  # (N, T)
        x = (slope + rng.normal(0, 0.2, (p.n, p.steps)))[..., None].astype(np.float32)
        ids = np.arange(p.n)
        parts = [ids[:int(p.n * 0.7)], ids[int(p.n * 0.7):int(p.n * 0.85)], ids[int(p.n * 0.85):]]
        splits = [TensorItems(x=torch.from_numpy(x[i]), y=torch.from_numpy(y[i]),
                              id=torch.from_numpy(i)) for i in parts]
        counts = np.bincount(y[parts[0]], minlength=len(SHAPES)).tolist()
        info = DataInfo(input=Shape.SEQUENCE, n_features=1).with_facets(
            Classes(names=list(SHAPES), train_counts=counts))
        return DataBundle(*splits, info, source="curve shapes",
                          fingerprint=fingerprint(x, y, p.model_dump_json()))

    def read_inputs(self, inputs, info, *, targets=False) -> list[dict[str, Any]]:
        """A table of ``s0 … s{T-1}`` columns (and an optional ``label``)."""
        table = as_table(inputs)
        steps = [f"s{k}" for k in range(self.params.steps)]
        x = _floats(table, steps).astype(np.float32)[..., None]  # (N, T, 1)
        k = optional_column("label", table.header)
        if targets and k is None:
            raise DataError("has no 'label' column to score against", source=table.source)
        names = info.facet(Classes).names
        items = [{"x": torch.from_numpy(row)} for row in x]
        for item, row in zip(items, table.rows if k is not None else []):
            item["y"] = torch.tensor(names.index(row[k]))
        return items

    def example_keys(self, bundle, split) -> set[int]:
        return set(columns_of(bundle.split(split), "id")["id"].tolist())

    def example_inputs(self, bundle):
        cols = columns_of(bundle.test, "x", "y")
        table = {f"s{k}": cols["x"][:4, k, 0].tolist() for k in range(self.params.steps)}
        return as_table({**table, "label": [SHAPES[int(i)] for i in cols["y"][:4]]})


class DatasetsPlugin:
    @seqforge.hookimpl
    def register_datasets(self, register):
        register("random_walk", RandomWalk)
        register("curve_shapes", CurveShapes)


@pytest.fixture
def plugin():
    p = DatasetsPlugin()
    register_plugin(p, name="test-datasets", version="1.0")
    try:
        yield p
    finally:
        unregister_plugin(p)


def _spec(dataset: str, task: str) -> dict:
    return {"name": dataset, "data": {"dataset": dataset},
            "model": {"topology": "many_to_one", "cell": "gru", "hidden_size": 8},
            "task": task,
            "train": {"epochs": 1, "batch_size": 32, "limit_train_batches": 3, "threads": 1}}


def test_the_tasks_are_the_built_ins(plugin):
    reg = get_registry()
    assert reg.get("task", "forecast") is Forecast and reg.get("task", "classify") is Classify
    assert reg.entry("dataset", "random_walk").origin == "runtime"


def test_series_dataset_trains_with_forecast_and_predicts_from_its_run_dir(plugin, tmp_path):
    run = seqforge.train(seqforge.load_spec(_spec("random_walk", "forecast")), out=tmp_path)
    assert run.summary["baseline"]["name"] == "persistence"
    assert {"test_rmse", "test_mae"} <= set(run.summary["test"])
    loads = RandomWalk.loads
    loaded = seqforge.load_run(run.dir)
    rows = loaded.predict({"level": [0.5 * k for k in range(15)]})  # a new walk, 15 rows
    assert RandomWalk.loads == loads, "predicting from a run directory read the training data"
    assert len(rows) == 15 - 12 + 1 and set(rows[0]) == {"level_t+1"}
    assert all(np.isfinite(r["level_t+1"]) for r in rows)


def test_classes_dataset_trains_with_classify_and_predicts_from_its_run_dir(plugin, tmp_path):
    run = seqforge.train(seqforge.load_spec(_spec("curve_shapes", "classify")), out=tmp_path)
    assert "majority class" in [b["name"] for b in run.summary["baselines"]]
    assert {"test_accuracy", "test_macro_f1"} <= set(run.summary["test"])
    loaded = seqforge.load_run(run.dir)
    new = {f"s{k}": [k / 15, -k / 15] for k in range(16)}  # one rising, one falling curve
    rows = loaded.predict(new)
    assert len(rows) == 2 and all(r["label"] in SHAPES and 0 < r["probability"] <= 1
                                  for r in rows)


def test_validation_matches_facets_from_the_spec(plugin):
    with pytest.raises(SpecError, match="needs a dataset with 'classes'.*datasets that fit: "
                                        ".*curve_shapes"):
        seqforge.load_spec(_spec("random_walk", "classify"))


class TestRandomWalkContract(DatasetContract):
    dataset = RandomWalk
    params = {"length": 200}


class TestCurveShapesContract(DatasetContract):
    dataset = CurveShapes
    params = {"n": 90}


class TestForecastOnRandomWalk(TaskContract):
    task = "forecast"
    dataset = RandomWalk
    data_params = {"length": 200}


class TestClassifyOnCurveShapes(TaskContract):
    task = "classify"
    dataset = CurveShapes
    data_params = {"n": 90}
