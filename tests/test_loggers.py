"""train.loggers: csv, tensorboard and mlflow write what they should, read back with the
libraries' own readers; names, options and missing packages are spec errors."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from seqforge.errors import SpecError
from seqforge.spec.validate import load_spec

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: helpers
from tool_helpers import TINY, train_tiny  # noqa: E402


def _spec(loggers):
    return {**TINY, "train": {**TINY["train"], "loggers": loggers}}


@pytest.mark.slow
def test_csv_tensorboard_and_mlflow_record_the_run(tmp_path):
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = train_tiny(tmp_path, loggers=["csv", "tensorboard", "mlflow"])
    history = run.history
    with open(run.dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["val_loss"]) == pytest.approx(history[1]["val_loss"])
    assert {"lr", "grad_norm", "train_loss"} <= set(rows[0])

    events = EventAccumulator(str(run.dir / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "val/loss", "val/rmse", "train/lr", "train/grad_norm", "test/rmse"} <= tags
    assert [(e.step, e.value) for e in events.Scalars("val/loss")] == [
        (1, pytest.approx(history[0]["val_loss"])), (2, pytest.approx(history[1]["val_loss"]))]
    from tensorboard.plugins.hparams import plugin_data_pb2

    hp = plugin_data_pb2.HParamsPluginData.FromString(
        events.PluginTagToContent("hparams")["_hparams_/session_start_info"])
    assert hp.session_start_info.hparams["model.hidden_size"].number_value == 6  # HPARAMS tab
    assert "hidden_size: 6" in events.Tensors("spec/text_summary")[0].tensor_proto.string_val[0].decode()

    kept = json.loads((run.dir / "mlflow.json").read_text())
    client = MlflowClient(tracking_uri=kept["tracking_uri"])
    assert kept["tracking_uri"] == f"sqlite:///{(run.dir / 'mlflow.db').resolve()}"
    mlrun = client.get_run(kept["run_id"])
    assert mlrun.info.status == "FINISHED"
    assert mlrun.data.params["model.hidden_size"] == "6"
    assert mlrun.data.params["train.optimizer.name"] == "adam"
    assert [(m.step, m.value) for m in client.get_metric_history(kept["run_id"], "val_loss")] == [
        (1, pytest.approx(history[0]["val_loss"])), (2, pytest.approx(history[1]["val_loss"]))]
    assert mlrun.data.metrics["test_rmse"] == pytest.approx(run.summary["test"]["test_rmse"])
    assert "baseline_rmse" in mlrun.data.metrics
    artifacts = [a.path for a in client.list_artifacts(kept["run_id"])]
    assert "spec.resolved.yaml" in artifacts


def test_without_a_run_directory_loggers_with_a_default_location_are_skipped():
    from seqforge.engine.loggers import make_loggers

    spec = load_spec(_spec(["csv", "tensorboard", {"name": "tensorboard", "log_dir": "/tmp/x"}]))
    made = make_loggers(spec.train.loggers, None, spec.resolved())
    assert [type(lg).__name__ for lg in made] == ["TensorBoardLogger"]


@pytest.mark.parametrize("loggers,expect", [
    (["tensorbord"], "unknown logger 'tensorbord' — did you mean 'tensorboard'?"),
    ([{"name": "mlflow", "tracking_url": "x"}], "unknown option 'tracking_url' for logger "
                                                "'mlflow' — did you mean 'tracking_uri'?"),
    ([3], "expected a logger name"),
])
def test_bad_loggers_are_spec_errors(loggers, expect):
    with pytest.raises(SpecError) as err:
        load_spec(_spec(loggers))
    assert expect in str(err.value) and "train.loggers" in str(err.value)


def test_a_logger_that_is_not_installed_names_the_extra(monkeypatch):
    import seqforge.spec.loggers as lg

    monkeypatch.setattr(lg, "installed", lambda module: module != "mlflow")
    with pytest.raises(SpecError) as err:
        load_spec(_spec(["csv", "mlflow"]))
    assert "pip install 'seqforge[mlflow]'" in str(err.value)


def test_loggers_round_trip_through_the_resolved_spec():
    spec = load_spec(_spec(["csv", {"name": "mlflow", "experiment": "prices"}]))
    again = load_spec(spec.resolved())
    assert [lg.model_dump() for lg in again.train.loggers] == [
        {"name": "csv"}, {"name": "mlflow", "tracking_uri": None, "experiment": "prices"}]
