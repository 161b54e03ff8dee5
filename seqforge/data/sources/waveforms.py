"""``waveforms``: draw a waveform of a requested class and frequency (one-to-many).

Each example's input is one vector — the one-hot waveform class followed by the
frequency normalised to [0, 1] (:func:`seqforge.data.synthetic.waveform_condition`) —
and its target the ``length``-step waveform (:func:`seqforge.data.synthetic.waveform`,
phase 0, so class and frequency determine the curve exactly). Train, val and test are
drawn independently (different seeds), so the model is judged on frequencies it never
saw.

The dataset's baseline is a sine at the requested frequency: it uses half of the input
(the frequency, with the generator's phase) and ignores the class, so it is exact for
sines, close for triangles and wrong for squares and sawtooths. A model that beats it
has learned to read the class.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import Field, field_validator

from ...errors import DataError
from ...kinds import Shape
from ..base import DataBundle, DataInfo, DataParams, DatasetSource, Inputs, TensorItems, fingerprint
from ..base import columns_of
from ..facets import Generation
from ..generators.synthetic import WAVEFORM_CLASSES, waveform_condition, waveforms
from ..io.table import Table, as_table, resolve_columns

SOURCE = "generator:waveforms"


class WaveformParams(DataParams):
    classes: list[str] = Field(default_factory=lambda: list(WAVEFORM_CLASSES),
                               description="waveform classes to draw: sine, square, "
                               "sawtooth, triangle")
    length: int = Field(50, ge=2, le=100_000, description="steps per waveform")
    n_train: int = Field(2000, ge=1, le=10_000_000)
    n_val: int = Field(200, ge=0, le=10_000_000)
    n_test: int = Field(200, ge=0, le=10_000_000)
    data_seed: int = Field(0, ge=0, description="seed of the generated examples (fixed: the "
                           "data does not change with the training seed)")

    @field_validator("classes", mode="before")
    @classmethod
    def _listify(cls, v):
        return [v] if isinstance(v, str) else v


def sine_at(freqs: np.ndarray, length: int) -> np.ndarray:
    """The baseline's drawing: sin(2π f t), t = 0..length-1, for each f: (N, length, 1)."""
    t = np.arange(length, dtype=np.float64)  # (T,)
    f = np.asarray(freqs, np.float64)[:, None]  # (N, 1)
    return np.sin(2 * np.pi * f * t)[:, :, None].astype(np.float32)


class Waveforms(DatasetSource):
    """Class + frequency → the waveform (generated; nothing to download)."""

    Params = WaveformParams
    provides = Shape.VECTOR
    facets = (Generation,)

    def load(self) -> DataBundle:
        p = self.params
        classes = tuple(p.classes)
        splits = {}
        for k, (name, n) in enumerate((("train", p.n_train), ("val", p.n_val), ("test", p.n_test))):
            # one seed per split: independent draws, so no test example is a training one
            cond, y, labels, freqs = waveforms(n, seed=p.data_seed * 3 + k, length=p.length,
                                               classes=classes)
            splits[name] = TensorItems(
                x=torch.from_numpy(cond),  # (n, K+1)
                y=torch.from_numpy(np.ascontiguousarray(y)),  # (n, T, 1)
                kind=[classes[i] for i in labels],
                freq=[float(f) for f in freqs],
                baseline=torch.from_numpy(sine_at(freqs, p.length)),  # (n, T, 1)
            ) if n else None
        facet = Generation(input_columns=["kind", "freq"], label_column="kind",
                           baseline_name="sine at the requested frequency")
        info = DataInfo(input=Shape.VECTOR, n_features=len(classes) + 1, n_targets=1,
                        target_length=p.length).with_facets(facet)
        return DataBundle(splits["train"], splits["val"], splits["test"], info, source=SOURCE,
                          fingerprint=fingerprint(splits["train"].columns["y"],
                                                  p.model_dump_json()))

    def example_keys(self, bundle: DataBundle, split: str) -> set[tuple[str, float]]:
        """Each request (class, frequency): splits are drawn with different seeds, so a
        request in two splits would mean they were not independent draws."""
        cols = columns_of(bundle.split(split), "kind", "freq")
        return set(zip(cols["kind"], cols["freq"]))

    def example_inputs(self, bundle: DataBundle) -> Table:
        """A few test requests as a ``kind,freq`` table."""
        cols = columns_of(bundle.test or bundle.train, "kind", "freq")
        return as_table({"kind": list(cols["kind"][:5]), "freq": list(cols["freq"][:5])},
                        source="test requests")

    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """A table of ``kind,freq`` rows (freq in cycles per step) → one drawing each."""
        if targets:
            raise DataError("waveform requests carry no true drawing to score against; "
                            "score with seqforge evaluate RUN --split test",
                            source=str(getattr(inputs, "source", inputs)))
        table = as_table(inputs)
        k_kind, k_freq = resolve_columns(["kind", "freq"], table.header, table.source)
        classes = tuple(self.params.classes)
        items = []
        for row, line in zip(table.rows, table.lines):
            kind, text = row[k_kind].strip(), row[k_freq].strip()
            try:
                freq = float(text)
            except ValueError:
                raise DataError(f"freq {text!r} is not a number", source=table.source,
                                line=line) from None
            try:
                cond = waveform_condition(kind, freq, classes)
            except DataError as e:  # unknown class, frequency out of range: add the line
                raise DataError(e.message, source=table.source, line=line) from None
            items.append({"x": torch.from_numpy(cond), "kind": kind, "freq": freq})
        return items
