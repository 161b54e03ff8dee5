"""What ``Run.predict`` accepts, turned into batches, and ``seqforge predict``'s file path.

* a file path (``str`` / ``Path``) — read by the run's dataset, exactly as ``seqforge
  predict --input`` reads it;
* a table in memory — a pandas DataFrame, a pyarrow Table, a dict of columns, or a 2-D
  array of raw rows with ``columns=[...]`` naming them — read the same way;
* prepared model inputs — a tensor or array of ``x`` (B, T, F) / (B, T) ids / (B, F),
  a list or dataset of items (``run.bundle.test``), or a collated batch dict.

Only the columns the model reads are required; the dataset names any missing one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.io.rows import write_rows
from ..data.io.table import Table, as_table
from ..engine.evaluate import item_batches
from ..errors import DataError

Batch = dict[str, Any]


def _is_table(obj: Any) -> bool:
    """A table of raw columns (not items, not a batch): a dict of columns without ``x``, a
    pyarrow Table, or a DataFrame-like object."""
    if isinstance(obj, Table):
        return True
    if isinstance(obj, Dataset):  # items, e.g. run.bundle.test
        return False
    if isinstance(obj, dict):
        return "x" not in obj
    return hasattr(obj, "column_names") or (hasattr(obj, "columns") and hasattr(obj, "__getitem__"))


def input_items(run, inputs: Any, *, columns: list[str] | None = None,
                targets: bool = False) -> list[dict] | Batch:
    """Items for ``inputs`` (see the module docstring), or one ready batch dict.

    ``targets``: every item must carry its true target (scoring a whole file)."""
    if isinstance(inputs, (str, Path)):
        path = Path(inputs)
        if not path.exists():
            raise DataError("input file not found", source=str(path))
        items = run.source.read_inputs(path, run.info, targets=targets)
    elif columns is not None or _is_table(inputs):
        items = run.source.read_inputs(as_table(inputs, columns=columns), run.info,
                                       targets=targets)
    elif isinstance(inputs, dict):
        return inputs  # a collated batch
    elif isinstance(inputs, (torch.Tensor, np.ndarray)):
        xs = torch.as_tensor(inputs)
        if xs.dtype == torch.float64:
            xs = xs.float()
        items = [{"x": x} for x in xs]
    else:
        items = list(inputs)
    if not items:
        raise DataError("no inputs found", source=str(getattr(inputs, "source", "inputs")))
    return items


def input_batches(run, inputs: Any, *, columns: list[str] | None = None,
                  batch_size: int = 256) -> Iterator[Batch]:
    items = input_items(run, inputs, columns=columns)
    if isinstance(items, dict):
        yield items
        return
    yield from item_batches(items, run.source.collate, batch_size)


def predict_file(run, input_path: Path, out: Path | None) -> int:
    """``seqforge predict``: predictions for a user's file as CSV (stdout without ``out``)."""
    return write_rows(run.predict(Path(input_path)), out)


__all__ = ["input_items", "input_batches", "predict_file"]
