"""``train.loggers``: where a run's per-epoch metrics go besides ``metrics.jsonl``.

``loggers: [csv, tensorboard, mlflow]`` — or mappings with options,
``{name: mlflow, tracking_uri: sqlite:///mlflow.db, experiment: prices}``. The spec layer
checks names, options and that the logger's package is installed (a named logger that is
not installed is a spec error naming the extra to install) before any data is read; the
loggers themselves live in :mod:`seqforge.engine.loggers`.
"""

from __future__ import annotations

import importlib.util
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import nearest, unknown_name_message


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CsvLogger(Strict):
    """``metrics.csv`` in the run directory: one row per epoch (for spreadsheets)."""

    name: Literal["csv"] = "csv"


class TensorBoardLogger(Strict):
    """TensorBoard event files (scalars per epoch, the resolved spec as hparams and text)."""

    name: Literal["tensorboard"] = "tensorboard"
    log_dir: str | None = Field(None, description="event file folder; default RUN/tensorboard")


class MlflowLogger(Strict):
    """An MLflow run: per-epoch metrics, the resolved spec as parameters and an artifact."""

    name: Literal["mlflow"] = "mlflow"
    tracking_uri: str | None = Field(
        None, description="default: a local store in the run directory, sqlite:///RUN/mlflow.db")
    experiment: str | None = Field(None, description="MLflow experiment; default: the spec's name")


LoggerSpec = CsvLogger | TensorBoardLogger | MlflowLogger

#: logger name → (its options model, the module it needs, the seqforge extra providing it)
LOGGERS: dict[str, tuple[type[Strict], str | None, str | None]] = {
    "csv": (CsvLogger, None, None),
    "tensorboard": (TensorBoardLogger, "tensorboard", "tensorboard"),
    "mlflow": (MlflowLogger, "mlflow", "mlflow"),
}


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-removed installation
        return False


def parse_logger(value) -> Strict:
    """``"csv"`` or ``{name: mlflow, …}`` → the logger's options; ValueError with the
    nearest name, or the extra to install when the logger's package is missing."""
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise ValueError("expected a logger name (csv, tensorboard, mlflow) or a mapping "
                         "with 'name' and its options")
    name = value["name"]
    if name not in LOGGERS:
        raise ValueError(unknown_name_message("logger", name, LOGGERS))
    model, module, extra = LOGGERS[name]
    if module is not None and not installed(module):
        raise ValueError(f"logger {name!r} needs the {module} package, which is not "
                         f"installed: pip install 'seqforge[{extra}]'")
    try:
        return model.model_validate(value, strict=True)
    except ValidationError as exc:  # one line, with the nearest option for a typo
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            allowed = [k for k in model.model_fields if k != "name"]
            guess = nearest(key, allowed)
            raise ValueError(f"unknown option {key!r} for logger {name!r}"
                             + (f" — did you mean {guess!r}?" if guess else "")
                             + f" allowed: {', '.join(allowed) or 'none'}") from None
        raise ValueError(f"logger {name!r}: {key}: {err['msg']}") from None
