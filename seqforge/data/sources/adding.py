"""``adding``: the adding problem — a long-range memory exercise (trained by ``regress``).

Each example is ``length`` steps of two channels: a value drawn uniformly from [0, 1] and
a 0/1 marker that is 1 at two steps, one in each half of the sequence
(:func:`~seqforge.data.generators.memory.adding_problem`). The target is the sum of the
two marked values, so the model must hold the first marked value for up to ``length``
steps while ignoring every other one. Predicting the expected sum (1) gives MSE ≈ 0.167
— the bar (``regress``'s constant baseline, the training mean); a model "solves" the
problem when its test MSE is a small fraction of it (Le et al. 2015 and Arjovsky et al.
2016 plot the MSE against this baseline).

Train, val and test are independent draws, fixed by ``data_seed`` alone
(:class:`~seqforge.data.generators.draws.DrawnParams`). Items:
``{"x": (T, 2) float32, "y": (1,) float32}``.

New inputs (``seqforge predict``) are a table with columns ``values`` (the numbers,
separated by spaces), ``first`` and ``second`` (the marked steps, counted from 0) and,
to score them, ``sum``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import Field

from ...errors import DataError
from ...kinds import Shape
from ..base import (DataBundle, DataInfo, DatasetSource, Inputs, TensorItems, columns_of,
                    fingerprint)
from ..facets import Regression
from ..generators.draws import DrawnParams
from ..generators.memory import adding_problem
from ..io.table import Table, as_table, optional_column, resolve_columns
from ..memory import check_fits

SOURCE = "generator:adding"


class AddingParams(DrawnParams):
    length: int = Field(100, ge=4, le=100_000, description="steps per sequence (T): how far "
                        "back the first marked value can lie")


class Adding(DatasetSource):
    """The adding problem (Hochreiter & Schmidhuber 1997): sum the two marked values."""

    Params = AddingParams
    provides = Shape.SEQUENCE
    facets = (Regression,)

    def load(self) -> DataBundle:
        p = self.params
        check_fits(4.0 * p.total * (2 * p.length + 1), f"{p.total:,} sequences of {p.length} "
                   "steps", "data.length", SOURCE)
        splits: dict[str, TensorItems | None] = {}
        for name, n, seed in p.draws():
            x, y, _ = adding_problem(n, p.length, seed=seed)  # (n, T, 2), (n, 1)
            splits[name] = TensorItems(x=torch.from_numpy(x), y=torch.from_numpy(y)) if n else None
        info = DataInfo(input=Shape.SEQUENCE, n_features=2, n_targets=1).with_facets(
            Regression(targets=["sum"]))
        return DataBundle(splits["train"], splits["val"], splits["test"], info, source=SOURCE,
                          fingerprint=fingerprint(splits["train"].columns["x"],
                                                  p.model_dump_json()))

    def example_keys(self, bundle: DataBundle, split: str) -> set[bytes]:
        """Each sequence's values and markers (independent float draws: a sequence in two
        splits would mean the draws were not independent)."""
        x = columns_of(bundle.split(split), "x")["x"]  # (N, T, 2)
        return {row.numpy().tobytes() for row in x}

    def example_inputs(self, bundle: DataBundle) -> Table:
        """A few test sequences as the table :meth:`read_inputs` reads."""
        cols = columns_of(bundle.test or bundle.train, "x", "y")
        x, y = cols["x"][:4], cols["y"][:4]  # (n, T, 2), (n, 1)
        marked = [torch.nonzero(row[:, 1]).flatten().tolist() for row in x]
        return as_table({"values": [" ".join(f"{v:.9g}" for v in row[:, 0].tolist()) for row in x],
                         "first": [m[0] for m in marked], "second": [m[1] for m in marked],
                         "sum": [float(v) for v in y[:, 0]]}, source="test sequences")

    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """Rows of ``values`` (numbers separated by spaces), ``first``, ``second`` (the
        marked steps, from 0) and optionally ``sum`` → items x (T, 2) (and y (1,))."""
        table = as_table(inputs)
        k_values, k_first, k_second = resolve_columns(["values", "first", "second"],
                                                      table.header, table.source)
        k_sum = optional_column("sum", table.header)
        if targets and k_sum is None:
            raise DataError("has no 'sum' column to score against", source=table.source)
        items = []
        for row, line in zip(table.rows, table.lines):
            values = _numbers(row[k_values], "values", table.source, line)
            x = np.zeros((len(values), 2), dtype=np.float32)  # (T, 2)
            x[:, 0] = values
            for key, k in (("first", k_first), ("second", k_second)):
                step = _step(row[k], key, len(values), table.source, line)
                x[step, 1] = 1.0
            item: dict[str, Any] = {"x": torch.from_numpy(x)}
            if k_sum is not None:
                item["y"] = torch.tensor(_numbers(row[k_sum], "sum", table.source, line)[:1])
            items.append(item)
        return items


def _numbers(text: str, key: str, source: str, line: int) -> np.ndarray:
    try:
        values = np.array([float(v) for v in text.split()], dtype=np.float32)
    except ValueError:
        raise DataError(f"{key}: {text[:40]!r} is not a list of numbers separated by spaces",
                        source=source, line=line) from None
    if values.size == 0 or not np.isfinite(values).all():
        raise DataError(f"{key}: expected finite numbers, got {text[:40]!r}", source=source,
                        line=line)
    return values


def _step(text: str, key: str, length: int, source: str, line: int) -> int:
    try:
        step = int(text.strip())
    except ValueError:
        raise DataError(f"{key}: {text!r} is not a step number", source=source,
                        line=line) from None
    if not 0 <= step < length:
        raise DataError(f"{key}: step {step} is outside the {length} values (0..{length - 1})",
                        source=source, line=line)
    return step


__all__ = ["Adding", "AddingParams"]
