"""The dataset contract.

A registered dataset is a :class:`DatasetSource` subclass with

* ``Params`` — its spec keys under ``data:`` (a pydantic model, unknown keys refused);
* ``provides`` — what ``x`` is per example (:class:`~seqforge.kinds.Shape`);
* ``facets`` — the :mod:`typed facets <seqforge.data.facets>` its ``DataInfo`` carries,
  matched against a task's ``requires`` before any data is read;
* ``load()`` → :class:`DataBundle` (train / val / test item datasets and the ``DataInfo``);
* ``read_inputs(inputs, info)`` → items for new data, using only the saved ``DataInfo``
  (its fitted scaler, vocabulary, columns) — so a run directory predicts without the
  training file;
* ``example_keys(bundle, split)`` and ``example_inputs(bundle)`` — what the contract kit
  (:mod:`seqforge.testing.datasets`) checks splits and ``read_inputs`` with.

Items are dicts of tensors (plus plain values, e.g. raw strings): ``x`` and, for
labelled data, ``y``. :func:`pad_collate` batches them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Union

import torch
from pydantic import BaseModel, ConfigDict
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ..errors import DataError
from ..kinds import Shape
from .info import DataInfo, Facet
from .io.table import Table
from .sampling import ShardedBatches


class DataParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TensorItems(Dataset):
    """Items from parallel tensors/lists: ``TensorItems(x=X, y=Y)[i] == {"x": X[i], "y": Y[i]}``."""

    def __init__(self, **columns: Any):
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"columns differ in length: { {k: len(v) for k, v in columns.items()} }")
        self.columns = columns
        self.n = lengths.pop()

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {k: v[i] for k, v in self.columns.items()}


def pad_collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack items into a batch; pad sequences of varying length with 0 and record lengths.

    ``x`` of lengths (T_i, ...) becomes (B, max T, ...) plus ``lengths`` (B,); likewise
    ``y`` → ``y_lengths``. Non-tensor values (e.g. raw strings) are kept as lists.
    """
    batch: dict[str, Any] = {}
    for key in items[0]:
        values = [it[key] for it in items]
        if not isinstance(values[0], Tensor):
            batch[key] = values
            continue
        if values[0].dim() == 0 or all(v.shape == values[0].shape for v in values):
            batch[key] = torch.stack(values)
            continue
        lens = torch.tensor([v.shape[0] for v in values], dtype=torch.long)
        batch[key] = torch.nn.utils.rnn.pad_sequence(values, batch_first=True)
        batch["lengths" if key == "x" else f"{key}_lengths"] = lens
    return batch


def columns_of(ds: Dataset, *keys: str) -> dict[str, Any]:
    """Whole columns of an item dataset: ``{key: (N, ...) tensor or list}``.

    :class:`TensorItems` hands its columns over as they are; any other dataset is
    stacked item by item (padded like a batch where lengths differ).
    """
    cols = getattr(ds, "columns", None)
    if isinstance(cols, dict) and all(k in cols for k in keys):
        return {k: _stacked(cols[k]) for k in keys}
    batch = pad_collate([ds[i] for i in range(len(ds))]) if len(ds) else {}
    return {k: batch[k] for k in keys}


def _stacked(column: Any) -> Any:
    """A list of tensors as one (N, ...) tensor, zero-padded where lengths differ."""
    if not (isinstance(column, list) and column and isinstance(column[0], Tensor)):
        return column
    if all(v.shape == column[0].shape for v in column):
        return torch.stack(column)
    return torch.nn.utils.rnn.pad_sequence(column, batch_first=True)


@dataclass
class DataBundle:
    train: Dataset
    val: Dataset | None
    test: Dataset | None
    info: DataInfo
    collate: Callable[[list], dict] = pad_collate
    source: str = ""
    fingerprint: str = ""
    #: consecutive batches continue the same sequences (token streams): the engine carries
    #: the recurrent state from one batch to the next and never shuffles
    stateful: bool = False
    #: what loading noticed that the user should see (a test file that is the training
    #: file …): printed as warnings by the run and kept in summary.json, never raised
    notes: list[str] = field(default_factory=list)

    def split(self, name: str) -> Dataset | None:
        return {"train": self.train, "val": self.val, "test": self.test}[name]

    def loader(self, name: str, batch_size: int, *, shuffle: bool = False,
               generator: torch.Generator | None = None, num_workers: int = 0,
               pin_memory: bool = False, rank: int = 0, world: int = 1) -> DataLoader | None:
        """Batches of a split. ``batch_size`` is the global batch: with ``world`` > 1 this
        rank gets its slice of each (see :class:`seqforge.data.sampling.ShardedBatches`)."""
        ds = self.split(name)
        if ds is None or len(ds) == 0:
            return None
        return sharded_loader(ds, batch_size, self.collate, shuffle=shuffle, generator=generator,
                              num_workers=num_workers, pin_memory=pin_memory, rank=rank,
                              world=world)


def sharded_loader(ds: Dataset, batch_size: int, collate, *, shuffle: bool,
                   generator: torch.Generator | None, num_workers: int = 0,
                   pin_memory: bool = False, rank: int = 0, world: int = 1) -> DataLoader:
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    return DataLoader(ds, collate_fn=collate, num_workers=num_workers, pin_memory=pin_memory,
                      # the loader draws its worker base seed from this generator too —
                      # never from the global RNG, whose state (dropout) a resume restores
                      generator=generator,
                      batch_sampler=ShardedBatches(len(ds), batch_size, shuffle=shuffle,
                                                   generator=generator, rank=rank, world=world))


#: what ``read_inputs`` reads: a file path, or a table of columns already in memory
Inputs = Union[Path, Table]


class DatasetSource:
    """Base class of registered datasets."""

    Params: ClassVar[type[DataParams]] = DataParams
    #: what the model reads per example
    provides: ClassVar[Shape] = Shape.SEQUENCE
    #: the facets its DataInfo carries (a classmethod taking the params may decide)
    facets: ClassVar[tuple[type[Facet], ...]] = ()
    #: how items batch; a class attribute so a loaded run batches new inputs the same way
    collate: ClassVar[Callable[[list], dict]] = staticmethod(pad_collate)

    def __init__(self, params: DataParams, *, base_dir: Path | None = None, seed: int = 0,
                 saved: DataInfo | None = None):
        self.params = params
        self.base_dir = Path(base_dir) if base_dir else Path.cwd()
        self.seed = seed
        #: a trained run's DataInfo when scoring it on data: datasets reuse its fitted
        #: transforms (scaler, vocabularies, classes) instead of refitting them
        self.saved = saved

    def resolve_path(self, path: str | Path) -> Path:
        """Paths in a spec are relative to the spec file, never to the working directory."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    def load(self) -> DataBundle:  # pragma: no cover - interface
        raise NotImplementedError

    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """Items for a user's new data (``seqforge predict``, ``Run.predict``).

        ``inputs`` is a file path or a :class:`~seqforge.data.io.table.Table`; ``info`` is
        the trained run's DataInfo. Items carry targets (``y``) when the data has them;
        with ``targets=True`` every item must (scoring a whole file), and a DataError
        names what is missing."""
        raise DataError("this dataset does not support prediction from a file",
                        source=str(getattr(inputs, "source", inputs)))

    def example_keys(self, bundle: DataBundle, split: str) -> set[Any] | None:
        """What the examples of one split of ``bundle`` are judged on, as hashable keys —
        the series rows their targets lie on, a text, a pair's source. No key may be in
        two splits of one load (the contract kit checks it). None: this dataset cannot
        say, and the check does not apply."""
        return None

    def example_inputs(self, bundle: DataBundle) -> Table | None:
        """A small table in the format :meth:`read_inputs` reads, made from ``bundle``'s
        own data (for the contract kit and the docs). None: this dataset reads no tables."""
        return None


def fingerprint(*parts: Any) -> str:
    """A short stable hash of the data a run saw (recorded in the run's environment)."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, Tensor):
            p = p.detach().cpu().numpy()
        if hasattr(p, "tobytes"):
            h.update(p.tobytes())
        else:
            h.update(repr(p).encode())
    return h.hexdigest()[:16]
