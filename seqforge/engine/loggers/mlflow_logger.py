"""``mlflow``: an MLflow run with per-epoch metrics, the resolved spec as parameters (and
as the artifact ``spec.resolved.yaml``), the test and baseline metrics at the end.

Without ``tracking_uri`` the store is local to the run directory:
``sqlite:///RUN/mlflow.db`` with artifacts in ``RUN/mlartifacts`` (MLflow 3 refuses its
old ``./mlruns`` file store; a SQLite file is its own local default). Browse it with
``mlflow ui --backend-store-uri sqlite:///RUN/mlflow.db``. A resumed run continues the
same MLflow run (its id is kept in ``RUN/mlflow.json``).
"""

from __future__ import annotations

import json
import time

from ...spec.loader import dump_yaml
from ..quiet import quiet
from . import Logger, flat_params, numbers

#: MLflow takes at most 100 parameters or 1000 metrics per call
BATCH = 100


class MlflowLogger(Logger):
    @staticmethod
    def without_run_dir(options) -> bool:
        return options.tracking_uri is not None

    def on_train_start(self, trainer) -> None:
        with quiet():  # importing mlflow sets its loggers' levels: quiet them afterwards
            from mlflow.entities import Param
            from mlflow.tracking import MlflowClient
        with quiet():
            local = self.options.tracking_uri is None
            uri = (f"sqlite:///{(self.run_dir.path / 'mlflow.db').resolve()}" if local
                   else self.options.tracking_uri)
            self.client = MlflowClient(tracking_uri=uri)
            kept = self.run_dir.path / "mlflow.json" if self.run_dir is not None else None
            if kept is not None and kept.exists() and trainer.state.history:  # resuming
                self.run_id = json.loads(kept.read_text())["run_id"]
                self.client.update_run(self.run_id, status="RUNNING")
                return
            name = self.options.experiment or self.resolved.get("name", "seqforge")
            exp = self.client.get_experiment_by_name(name)
            exp_id = exp.experiment_id if exp is not None else self.client.create_experiment(
                name, artifact_location=(self.run_dir.path / "mlartifacts").resolve().as_uri()
                if local else None)
            tags = {"seqforge.run_dir": str(self.run_dir.path)} if self.run_dir else {}
            run = self.client.create_run(exp_id, run_name=self._run_name(), tags=tags)
            self.run_id = run.info.run_id
            if kept is not None:
                kept.write_text(json.dumps({"tracking_uri": uri, "run_id": self.run_id}) + "\n")
            params = [Param(k, str(v)[:6000]) for k, v in flat_params(self.resolved).items()]
            for i in range(0, len(params), BATCH):
                self.client.log_batch(self.run_id, params=params[i:i + BATCH])
            self.client.log_text(self.run_id, dump_yaml(self.resolved), "spec.resolved.yaml")

    def _run_name(self) -> str:
        name = self.resolved.get("name", "run")
        return f"{name}/{self.run_dir.path.name}" if self.run_dir is not None else name

    def _log(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, step) for k, v in values.items()]
        with quiet():
            for i in range(0, len(metrics), BATCH):
                self.client.log_batch(self.run_id, metrics=metrics[i:i + BATCH])

    def on_epoch_end(self, trainer, epoch, row) -> None:
        self._log(numbers(row), epoch)

    def on_train_end(self, trainer, summary) -> None:
        values = numbers(summary.get("test", {}))
        values.update({f"baseline_{k}": v for k, v in numbers(summary.get("baseline", {})).items()})
        self._log(values, trainer.state.epoch)
        self.close()

    def close(self, status: str = "FINISHED") -> None:
        if getattr(self, "run_id", None) is not None:
            with quiet():
                self.client.set_terminated(self.run_id, status)
            self.run_id = None
