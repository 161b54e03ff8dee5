"""The dataset contract.

A registered dataset is a :class:`DatasetSource` subclass: ``Params`` (its spec keys under
``data:``), ``provides`` (``"sequence"`` or ``"vector"`` inputs) and ``load()`` returning a
:class:`DataBundle`. Items are dicts of tensors; :func:`pad_collate` batches them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

import torch
from pydantic import BaseModel, ConfigDict
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ..errors import DataError


class DataParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass
class DataInfo:
    """What the model reads and what the task predicts."""

    input: str  # "sequence" (x: (T, F) floats or (T,) tokens) or "vector" (x: (F,))
    n_features: int = 0  # float features per step (or vector size); 0 for token input
    vocab: Any = None  # input Vocab when x holds token ids
    target_vocab: Any = None  # output Vocab for token targets (LM, seq2seq)
    n_classes: int | None = None  # classification
    n_targets: int | None = None  # regression values per output (per step or per example)
    class_names: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # task-specific extras


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


@dataclass
class DataBundle:
    train: Dataset
    val: Dataset | None
    test: Dataset | None
    info: DataInfo
    collate: Callable[[list], dict] = pad_collate
    #: invertible transforms and vocabularies to save with the run (JSON-able state)
    transforms: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    fingerprint: str = ""

    def split(self, name: str) -> Dataset | None:
        return {"train": self.train, "val": self.val, "test": self.test}[name]

    def loader(self, name: str, batch_size: int, *, shuffle: bool = False,
               generator: torch.Generator | None = None, num_workers: int = 0,
               pin_memory: bool = False, rank: int = 0, world: int = 1) -> DataLoader | None:
        """Batches of a split. ``batch_size`` is the global batch: with ``world`` > 1 this
        rank gets its slice of each (see :class:`seqforge.engine.sampling.ShardedBatches`)."""
        ds = self.split(name)
        if ds is None or len(ds) == 0:
            return None
        return sharded_loader(ds, batch_size, self.collate, shuffle=shuffle, generator=generator,
                              num_workers=num_workers, pin_memory=pin_memory, rank=rank,
                              world=world)


def sharded_loader(ds: Dataset, batch_size: int, collate, *, shuffle: bool,
                   generator: torch.Generator | None, num_workers: int = 0,
                   pin_memory: bool = False, rank: int = 0, world: int = 1) -> DataLoader:
    from .sampling import ShardedBatches

    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    return DataLoader(ds, collate_fn=collate, num_workers=num_workers, pin_memory=pin_memory,
                      # the loader draws its worker base seed from this generator too —
                      # never from the global RNG, whose state (dropout) a resume restores
                      generator=generator,
                      batch_sampler=ShardedBatches(len(ds), batch_size, shuffle=shuffle,
                                                   generator=generator, rank=rank, world=world))


class DatasetSource:
    """Base class of registered datasets."""

    Params: ClassVar[type[DataParams]] = DataParams
    #: what the model reads per example: "sequence" or "vector"
    provides: ClassVar[str] = "sequence"

    def __init__(self, params: DataParams, *, base_dir: Path | None = None, seed: int = 0):
        self.params = params
        self.base_dir = Path(base_dir) if base_dir else Path.cwd()
        self.seed = seed
        #: a trained run's transforms (scaler state, vocabularies) when scoring or
        #: predicting with it; datasets that can, reuse them instead of refitting
        self.saved_transforms: dict[str, Any] | None = None

    def resolve_path(self, path: str | Path) -> Path:
        """Paths in a spec are relative to the spec file, never to the working directory."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    def load(self) -> DataBundle:  # pragma: no cover - interface
        raise NotImplementedError

    def read_inputs(self, path: Path, bundle: DataBundle) -> list[dict[str, Any]]:
        """Items (without targets) read from a user's file for ``seqforge predict``."""
        raise DataError("this dataset does not support prediction from a file", source=str(path))


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
