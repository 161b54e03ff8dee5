"""``labelled_series``: numeric series with one class label each (UCR/UEA-style problems).

One dataset for three file formats, chosen by ``format`` (``auto``: by the file suffix —
``.ts`` the sktime/aeon format, ``.csv`` with ``id_column`` present the long format, any
other file the archive's one-series-per-row CSV/TSV; see :mod:`seqforge.data.io.ts_format`
and :mod:`seqforge.data.io.labelled_series`). The formats differ only in how a file is
read; splitting, normalisation, classes, scoring whole files and every error after
reading are the same — so one dataset with a ``format`` key, not three copies of that.

Splits: ``train`` is the training file; ``val`` and ``test`` are each a fraction of it
(stratified) or a file of their own — benchmarks come with a fixed TRAIN/TEST pair, so
``test: …_TEST.ts`` with ``val: 0.2`` (a stratified fifth of TRAIN picks the best epoch;
the test file is scored once, at the end). Files other than ``train`` are read exactly as
``seqforge evaluate RUN --data FILE`` reads them: with the classes and the normaliser
fitted on the training split, so a test label unseen in training, or a file with other
channels, is an error naming the file and line.

Items are ``{"x": (T_i, C) float32, "y": 0-d long}``; series of different lengths are
padded by the collate, which records ``lengths`` (the recurrent stack masks padding).
Missing values (NaN) become 0 after normalisation — the series' (or channel's) mean.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
import torch
from pydantic import Field

from ...errors import DataError
from ...kinds import Shape
from ..base import DataBundle, DataInfo, DatasetSource, Inputs, fingerprint
from ..facets import Channels, Classes
from ..io.aeon_data import aeon_file, is_aeon
from ..io.labelled_series import SeriesSet, read_long_table, read_ucr_table
from ..io.table import Table, as_table, optional_column, resolve_columns
from ..io.ts_format import read_ts
from ..splits import FileSplitParams, fixed_splits, split_indices, subset
from ..transforms.classes import class_counts, class_order
from ..transforms.scalers import make_scaler


class LabelledSeriesParams(FileSplitParams):
    train: str = Field(..., description="training file (relative to the spec), or "
                                        "builtin:aeon/<Problem>/<file> from the aeon package")
    format: Literal["auto", "ts", "ucr", "long"] = Field(
        "auto", description="auto: by suffix (.ts; .csv with id_column: long; else ucr)")
    label_column: Union[int, str, None] = Field(
        None, description="ucr: position of the label in a row (null: first) or a header "
                          "name; long: the label column's name (null: 'label')")
    id_column: str = Field("id", description="long format: the series id column")
    time_column: str | None = Field(None, description="long format: rows are ordered by it")
    channels: list[str] | None = Field(None, description="long format: channel columns "
                                                         "(null: every other column)")
    normalize: Literal["none", "series", "global"] = Field(
        "series", description="series: z-normalise each series and channel on its own (the "
                              "archive convention); global: one per-channel scaler fitted on "
                              "the training split; none")


class LabelledSeries(DatasetSource):
    """Labelled numeric series from .ts, archive CSV/TSV or long-format files."""

    Params = LabelledSeriesParams
    provides = Shape.SEQUENCE
    facets = (Classes, Channels)

    # -- reading ---------------------------------------------------------------------------
    def locate(self, source: str) -> Path:
        return aeon_file(source) if is_aeon(source) else self.resolve_path(source)

    def _format(self, path: Path) -> str:
        p = self.params
        if p.format != "auto":
            return p.format
        if path.suffix.lower() == ".ts":
            return "ts"
        if path.suffix.lower() == ".csv" and _has_column(path, p.id_column):
            return "long"
        return "ucr"

    def read(self, path: Path) -> SeriesSet:
        p = self.params
        fmt = self._format(path)
        if fmt == "ts":
            return read_ts(path)
        if fmt == "long":
            label = p.label_column if isinstance(p.label_column, str) else "label"
            return read_long_table(path, id_column=p.id_column, label_column=label,
                                   time_column=p.time_column, channels=p.channels)
        return read_ucr_table(path, label_column=0 if p.label_column is None else p.label_column)

    # -- the bundle ------------------------------------------------------------------------
    def load(self) -> DataBundle:
        p = self.params
        train_path = self.locate(p.train)
        data = self.read(train_path)
        if data.labels is None:
            raise DataError("the training file has no class labels", source=data.source)
        if self.saved is not None:
            classes = self.saved.facet(Classes).names
            channels = self.saved.facet(Channels)
        else:
            classes = class_order(data.labels)
            if len(classes) < 2:
                raise DataError(f"every series has the label {classes[0]!r}; a classifier needs "
                                "at least two classes", source=data.source)
            channels = Channels(names=data.channels or [f"dim_{c}" for c in range(data.n_channels)],
                                normalize=p.normalize)
        index = {c: i for i, c in enumerate(classes)}
        y = np.array([index.get(lab, -1) for lab in data.labels], dtype=np.int64)  # (N,)
        if (y < 0).any():
            k = int(np.flatnonzero(y < 0)[0])
            raise DataError(f"label {data.labels[k]!r} is not one the model was trained on "
                            f"({', '.join(classes)})", source=data.source, line=data.lines[k])
        parts = split_indices(y, p.fraction("val"), p.fraction("test"), seed=self.seed,
                              stratified=p.split == "stratified", source=data.source)
        if self.saved is None and p.normalize == "global":
            steps = np.concatenate([data.series[i] for i in parts[0]])  # (ΣT, C)
            channels.scaler = make_scaler("standard").fit(steps[np.isfinite(steps).all(1)])
        info = DataInfo(input=Shape.SEQUENCE, n_features=data.n_channels).with_facets(
            Classes(names=classes, train_counts=class_counts(y[parts[0]], len(classes))),
            channels)
        self._check_channels(data, info)
        cols = {"x": [self.prepare(x, info) for x in data.series], "y": torch.from_numpy(y)}
        splits = [subset(cols, i) for i in parts]
        others = {k: self.locate(v) for k, v in p.files().items()}
        notes = fixed_splits(splits, train_path, others,
                             lambda f: self.read_inputs(f, info, targets=True))
        return DataBundle(*splits, info, source=data.source, notes=notes,
                          fingerprint=fingerprint(*data.series, data.labels, p.model_dump_json(),
                                                  self.seed, *(str(o) for o in others.values())))

    # -- shared by the bundle and new files ---------------------------------------------------
    def prepare(self, x: np.ndarray, info: DataInfo) -> torch.Tensor:
        """(T, C) raw values → the normalised float32 tensor the model reads."""
        ch = info.facet(Channels)
        x = x.astype(np.float64)
        if ch.normalize == "series":
            mean = np.nanmean(x, axis=0, keepdims=True)  # (1, C)
            std = np.nanstd(x, axis=0, keepdims=True)
            x = (x - mean) / np.where(std > 1e-8, std, 1.0)
        elif ch.normalize == "global" and ch.scaler is not None:
            x = ch.scaler.transform(x)
        return torch.from_numpy(np.nan_to_num(x, nan=0.0).astype(np.float32))  # (T, C)

    def _check_channels(self, data: SeriesSet, info: DataInfo) -> None:
        want = info.facet(Channels).names
        if data.n_channels != len(want):
            raise DataError(f"the series have {data.n_channels} channel(s) but the model was "
                            f"trained on {len(want)} ({', '.join(want[:12])})",
                            source=data.source, line=data.lines[0])

    def read_table(self, table: Table, info: DataInfo, *, targets: bool) -> SeriesSet:
        """A table in memory is read as the long format (one row per step: the id column,
        the training channels by name, the time column when the spec names one, and the
        label column when present — required with ``targets``), whatever format the
        training file had: a table's natural layout is one row per observation."""
        p = self.params
        label = p.label_column if isinstance(p.label_column, str) else "label"
        if targets or optional_column(label, table.header) is not None:
            resolve_columns([label], table.header, table.source)  # names the columns
            has_label = True
        else:
            has_label = False
        return read_long_table(table, id_column=p.id_column,
                               label_column=label if has_label else None,
                               time_column=p.time_column, channels=info.facet(Channels).names)

    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """Every series of a file (the training file's format) or of a long-format table
        (:meth:`read_table`) as items; with labels, each must be one the model knows (a
        DataError naming the file and line)."""
        if isinstance(inputs, Table):
            data = self.read_table(inputs, info, targets=targets)
        else:
            data = self.read(self.locate(str(inputs)) if is_aeon(str(inputs)) else Path(inputs))
        self._check_channels(data, info)
        if targets and data.labels is None:
            raise DataError("has no class labels to score against", source=data.source)
        classes = info.facet(Classes).names
        items = []
        for i, (x, line) in enumerate(zip(data.series, data.lines)):
            item: dict[str, Any] = {"x": self.prepare(x, info)}
            if data.labels is not None:
                label = data.labels[i]
                if label not in classes:
                    raise DataError(f"label {label!r} was not seen in training; known labels: "
                                    f"{', '.join(repr(c) for c in classes[:50])}",
                                    source=data.source, line=line)
                item["y"] = torch.tensor(classes.index(label), dtype=torch.long)
            items.append(item)
        return items


    # -- for the contract kit ------------------------------------------------------------
    def example_keys(self, bundle: DataBundle, split: str) -> set[bytes]:
        """Each series' normalised values: the same series twice — in the training file
        and a test file, say — is one example in two splits."""
        ds = bundle.split(split)
        return {ds[i]["x"].numpy().tobytes() for i in range(len(ds))}  # unpadded, (T_i, C)

    def example_inputs(self, bundle: DataBundle) -> Table:
        """A few test series as a long-format table (:meth:`read_table`), in the values a
        file holds (a global scaler undone)."""
        p, info = self.params, bundle.info
        ds = bundle.test or bundle.train
        ch = info.facet(Channels)
        names = info.facet(Classes).names
        rows: dict[str, list] = {p.id_column: []}
        if p.time_column:
            rows[p.time_column] = []
        rows.update({c: [] for c in ch.names})
        rows["label" if not isinstance(p.label_column, str) else p.label_column] = []
        label = list(rows)[-1]
        for i in range(min(3, len(ds))):
            item = ds[i]
            x = item["x"].numpy().astype(np.float64)  # (T, C)
            if ch.normalize == "global" and ch.scaler is not None:
                x = ch.scaler.inverse_transform(x)
            for t, step in enumerate(x):
                rows[p.id_column].append(f"s{i}")
                if p.time_column:
                    rows[p.time_column].append(t)
                for c, v in zip(ch.names, step):
                    rows[c].append(float(v))
                rows[label].append(names[int(item["y"])])
        return as_table(rows, source="test series (long format)")


def _has_column(path: Path, name: str) -> bool:
    try:
        with path.open(encoding="utf-8-sig") as fh:
            header = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return optional_column(name, [h.strip() for h in header.split(",")]) is not None


__all__ = ["LabelledSeries", "LabelledSeriesParams"]
