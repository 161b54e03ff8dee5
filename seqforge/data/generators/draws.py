"""The split keys of generated datasets: how many examples each split draws, and from
which seed.

Each split is an independent draw with a seed of its own (``data_seed·3 + k`` for
train, val, test), fixed by ``data_seed`` alone — the data does not change with the
training seed, so runs with different seeds are compared on the same examples.
"""

from __future__ import annotations

from pydantic import Field

from ..base import DataParams

SPLITS = ("train", "val", "test")


class DrawnParams(DataParams):
    n_train: int = Field(10_000, ge=1, le=10_000_000, description="training examples drawn")
    n_val: int = Field(500, ge=0, le=10_000_000, description="validation examples drawn")
    n_test: int = Field(1000, ge=0, le=10_000_000, description="test examples drawn")
    data_seed: int = Field(0, ge=0, description="seed of the generated examples (fixed: the "
                           "data does not change with the training seed)")

    @property
    def total(self) -> int:
        return self.n_train + self.n_val + self.n_test

    def draws(self) -> list[tuple[str, int, int]]:
        """``(split, examples, seed)`` for train, val and test."""
        counts = (self.n_train, self.n_val, self.n_test)
        return [(name, n, self.data_seed * 3 + k)
                for k, (name, n) in enumerate(zip(SPLITS, counts))]


__all__ = ["DrawnParams", "SPLITS"]
