"""``tensorboard``: event files TensorBoard reads (``tensorboard --logdir RUN/tensorboard``).

Scalars per epoch as ``train/loss``, ``val/rmse``, ``train/lr``, ``train/grad_norm`` …,
the resolved spec as text and as hyperparameters (the HPARAMS tab), with the test
metrics as the hyperparameters' metrics.
"""

from __future__ import annotations

from pathlib import Path

from ...spec.loader import dump_yaml
from ..quiet import quiet
from . import Logger, flat_params, numbers


def tag(key: str) -> str:
    """``val_rmse`` → ``val/rmse``; keys without a split (lr, grad_norm) → ``train/…``."""
    split, _, rest = key.partition("_")
    return f"{split}/{rest}" if split in ("train", "val", "test") and rest else f"train/{key}"


def hparam_value(v):
    return v if isinstance(v, (bool, int, float, str)) else ("null" if v is None else str(v))


class TensorBoardLogger(Logger):
    @staticmethod
    def without_run_dir(options) -> bool:
        return options.log_dir is not None

    @property
    def log_dir(self) -> Path:
        return Path(self.options.log_dir) if self.options.log_dir else self.run_dir.path / "tensorboard"

    def on_train_start(self, trainer) -> None:
        with quiet():
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(self.log_dir))
        if not trainer.state.history:  # a resumed run wrote its spec already
            self.writer.add_text("spec", "```yaml\n" + dump_yaml(self.resolved) + "```", 0)

    def on_epoch_end(self, trainer, epoch, row) -> None:
        for k, v in numbers(row).items():
            self.writer.add_scalar(tag(k), v, epoch)
        self.writer.flush()

    def on_train_end(self, trainer, summary) -> None:
        from torch.utils.tensorboard.summary import hparams

        metrics = {tag(k): v for k, v in numbers(summary.get("test", {})).items()}
        metrics.update({f"baseline/{k}": v for k, v in numbers(summary.get("baseline", {})).items()})
        params = {k: hparam_value(v) for k, v in flat_params(self.resolved).items()}
        writer = self.writer._get_file_writer()
        for s in hparams(params, metrics):  # experiment, session start, session end
            writer.add_summary(s)
        for k, v in metrics.items():
            self.writer.add_scalar(k, v, trainer.state.epoch)
        self.close()

    def close(self, status: str = "FINISHED") -> None:
        w = getattr(self, "writer", None)
        if w is not None:
            w.close()
            self.writer = None
