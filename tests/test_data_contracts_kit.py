"""The dataset and task contracts catch deliberately broken components, naming the
violated property — so none of their checks passes vacuously — and the kit's API:
reports, skips, the pytest base classes, clear errors for a wrong configuration."""

from __future__ import annotations

import random
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pydantic import ConfigDict

from seqforge.data.facets import Classes, Generation
from seqforge.data.info import Facet
from seqforge.data.sources.number_spelling import NumberSpelling
from seqforge.data.sources.timeseries_csv import TimeseriesCSV
from seqforge.data.sources.waveforms import Waveforms
from seqforge.data.transforms.vocab import Vocab
from seqforge.testing import (DATASET_PROPERTIES, TASK_PROPERTIES, DatasetContract,
                              NotApplicable, TaskContract, check_dataset, check_task,
                              dataset_contract_tests, run_dataset_property, run_task_property)
from seqforge.tasks.classify import Classify
from seqforge.tasks.forecast import Forecast
from seqforge.tasks.seq2seq import Seq2Seq

WAVES = {"n_train": 30, "n_val": 8, "n_test": 8, "length": 10}
SERIES = {"window": 8, "test": 0.1}


# -- broken datasets -------------------------------------------------------------------------------

class _LooseParams(Waveforms):
    class Params(Waveforms.Params):
        model_config = ConfigDict(extra="allow")


class _UndeclaredFacet(Waveforms):
    facets = ()  # but its DataInfo carries Generation


class _MissingFacet(Waveforms):
    facets = (Generation, Classes)  # declares one it never provides


class _WrongFeatures(Waveforms):
    def load(self):
        b = super().load()
        b.info.n_features += 1  # the model would be built for another input size
        return b


class _IdsOutOfRange(NumberSpelling):
    def load(self):
        b = super().load()
        b.info.target_vocab = Vocab(["zero"])  # y holds ids this vocabulary does not have
        return b


class _NoLast(TimeseriesCSV):
    def load(self):
        b = super().load()
        for ds in (b.train, b.val, b.test):
            if ds is not None:
                del ds.columns["last"]  # forecast's persistence baseline reads it
        return b


class _Overlapping(Waveforms):
    def load(self):
        b = super().load()
        b.test = b.train  # "held-out" examples the model trained on
        return b


class Fuzzy(Facet):
    name: ClassVar[str] = "contract_kit_fuzzy"
    level: float


class _NaNState(Waveforms):
    facets = (Generation, Fuzzy)

    def load(self):
        b = super().load()
        return b.__class__(**{**b.__dict__, "info": b.info.with_facets(Fuzzy(level=float("nan")))})


class _RefitsAnyway(TimeseriesCSV):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.saved = None  # ignores the trained run's scaler


class _KeepsScalerOnSelf(TimeseriesCSV):
    """Reads inputs with state left on the instance by load(), not from the saved info."""

    def load(self):
        b = super().load()
        self._facet = b.info.facets["series"]
        return b

    def read_inputs(self, inputs, info, *, targets=False):
        info.facets["series"] = self._facet
        return super().read_inputs(inputs, info, targets=targets)


class _UnseededShuffle(Waveforms):
    def load(self):
        b = super().load()
        order = list(range(len(b.train)))
        random.shuffle(order)
        b.train.columns = {k: [v[i] for i in order] for k, v in b.train.columns.items()}
        return b


class _TimestampFingerprint(Waveforms):
    def load(self):
        b = super().load()
        b.fingerprint = str(random.random())
        return b


@pytest.mark.parametrize("dataset,prop,params", [
    (_LooseParams, "declares", WAVES),
    (_UndeclaredFacet, "facets", WAVES),
    (_MissingFacet, "facets", WAVES),
    (_WrongFeatures, "items", WAVES),
    (_IdsOutOfRange, "items", {"max_value": 99}),
    (_NoLast, "items", SERIES),
    (_Overlapping, "splits", WAVES),
    (_NaNState, "state", WAVES),
    (_RefitsAnyway, "saved", SERIES),
    (_KeepsScalerOnSelf, "read_inputs", SERIES),
    (_UnseededShuffle, "fingerprint", WAVES),
    (_TimestampFingerprint, "fingerprint", WAVES),
])
def test_kit_catches_broken_dataset(dataset, prop, params):
    refit = {"test": 0.3} if issubclass(dataset, TimeseriesCSV) else None
    with pytest.raises(AssertionError, match=rf"dataset '{dataset.__name__}' violates '{prop}'"):
        run_dataset_property(dataset, prop, params=params, refit=refit, max_examples=30,
                             shrink=False)


# -- broken tasks ----------------------------------------------------------------------------------

class _LooseTaskParams(Forecast):
    class Params(Forecast.Params):
        model_config = ConfigDict(extra="allow")


class _KeyErrorTask(Forecast):
    def __init__(self, params, info):
        info.facets["series"]  # a KeyError where a SpecError should name the facet
        super().__init__(params, info)


class _UndeclaredNeed(Classify):
    requires = ()  # but it reads the Classes facet


class _RenamedBaseline(Forecast):
    def baseline(self, data):
        return {k.upper(): v for k, v in super().baseline(data).items()}


class _NoBaseline(Classify):
    def baseline(self, data):
        return {}


class _ForgetsFit(Seq2Seq):
    def state_dict(self) -> dict[str, Any]:
        return {}


class _NumpyRows(Classify):
    def predict(self, model, batch):
        return [{**r, "probability": np.float32(r["probability"])}
                for r in super().predict(model, batch)]


class _OneRowPerBatch(Classify):
    def predict(self, model, batch):
        return super().predict(model, batch)[:1]


class _DetachedLoss(Forecast):
    def loss(self, out, batch):
        return F.mse_loss(out.detach(), batch["y"])


class _NaNLoss(Forecast):
    def loss(self, out, batch):
        return super().loss(out, batch) * torch.tensor(float("nan"))


@pytest.mark.parametrize("task,prop,dataset", [
    (_LooseTaskParams, "declares", "timeseries_csv"),
    (_KeyErrorTask, "requires", "timeseries_csv"),
    (_UndeclaredNeed, "requires", "digits"),
    (_RenamedBaseline, "baseline", "timeseries_csv"),
    (_NoBaseline, "baseline", "digits"),
    (_ForgetsFit, "state", "seq2seq"),
    (_NumpyRows, "predict", "digits"),
    (_OneRowPerBatch, "predict", "digits"),
    (_DetachedLoss, "loss", "timeseries_csv"),
    (_NaNLoss, "loss", "timeseries_csv"),
])
def test_kit_catches_broken_task(task, prop, dataset):
    data_params = {"timeseries_csv": SERIES, "seq2seq": {"n": 300}}.get(dataset)
    with pytest.raises(AssertionError, match=rf"task '{task.__name__}' on '{dataset}' violates "
                                             rf"'{prop}'"):
        run_task_property(task, prop, dataset=dataset, data_params=data_params, max_examples=30,
                          shrink=False)


# -- the kit's API ----------------------------------------------------------------------------------

def test_check_dataset_reports_every_failure_at_once():
    with pytest.raises(AssertionError) as info:
        check_dataset(_Overlapping, params=WAVES, only=["splits", "facets", "declares"])
    msg = str(info.value)
    assert msg.startswith("1 of 3 contract properties failed for dataset '_Overlapping'")
    assert "the train and test splits share" in msg


def test_not_applicable_where_a_dataset_cannot_say():
    class NoKeys(Waveforms):
        def example_keys(self, bundle, split):
            return None

        def example_inputs(self, bundle):
            return None

    report = check_dataset(NoKeys, params=WAVES, only=["splits", "read_inputs", "state"])
    assert report["state"] == "passed"
    assert report["splits"].startswith("skipped:") and "cannot say" in report["splits"]
    assert report["read_inputs"].startswith("skipped:")
    with pytest.raises(NotApplicable):
        run_dataset_property(NoKeys, "splits", params=WAVES)


def test_wrong_configurations_are_clear():
    with pytest.raises(ValueError, match="requires facets \\['series'\\]; dataset 'digits'"):
        check_task("forecast", dataset="digits")
    with pytest.raises(ValueError, match="did you mean 'digits'"):
        check_dataset("digit")
    with pytest.raises(ValueError, match="params do not validate"):
        check_dataset("waveforms", params={"lenght": 3})
    with pytest.raises(ValueError, match="unknown dataset property 'nope'"):
        run_dataset_property("waveforms", "nope")
    with pytest.raises(TypeError, match="DatasetSource subclass"):
        check_dataset(Forecast)


def test_refit_that_changes_nothing_is_the_callers_error():
    with pytest.raises(AssertionError, match="leave every fitted transform as it was"):
        run_dataset_property("timeseries_csv", "saved", params=SERIES, refit={"horizon": 1})


def test_contract_classes_have_one_test_per_property():
    assert {f"test_{p}" for p in DATASET_PROPERTIES} <= set(dir(DatasetContract))
    assert {f"test_{p}" for p in TASK_PROPERTIES} <= set(dir(TaskContract))
    with pytest.raises(TypeError, match="set `dataset = YourDataset`"):
        DatasetContract().test_items()
    with pytest.raises(TypeError, match="set `task = YourTask`"):
        TaskContract().test_loss()


class TestWaveformsThroughTheBaseClass(DatasetContract):
    """The pytest base class as a plugin's suite uses it: one load for every property."""

    dataset = "waveforms"
    params = WAVES
    skip = ("saved",)

    def test_one_load_per_class(self):
        assert type(self)()._shared() is self._shared()


class TestClassifyThroughTheBaseClass(TaskContract):
    task = "classify"
    dataset = "text_csv"
    data_params = {"source": "t.csv"}
    files = {"t.csv": "text,label\n" + "".join(f"word{i} {'up' if i % 2 else 'down'},"
                                              f"{'up' if i % 2 else 'down'}\n" for i in range(30))}


def test_parametrize_helper_names_tests_by_property():
    params = dataset_contract_tests("waveforms", params=WAVES, skip=("saved",))
    assert [p.id for p in params] == [n for n in DATASET_PROPERTIES if n != "saved"]
    params[0].values[0]()
