"""The order examples are trained in: one seeded permutation, optionally sharded.

Every rank of a data-parallel run draws the *same* permutation (same generator state) and
takes its own slice ``idx[rank::world]`` of each global batch. The union of the ranks'
slices is exactly the batch one process would train on, so W processes with per-rank
batch B/W take the same optimizer steps as one process with batch B (DDP averages the
gradients). With W = 1 this is an ordinary shuffled (or, for stateful streams, ordered)
batch sampler. The permutation is drawn from ``generator`` when iteration starts, so
restoring the generator's state replays an epoch's order exactly (mid-epoch resume).
"""

from __future__ import annotations

import torch
from torch.utils.data import Sampler


class ShardedBatches(Sampler[list[int]]):
    def __init__(self, n: int, batch_size: int, *, shuffle: bool, generator: torch.Generator,
                 rank: int = 0, world: int = 1):
        self.n = n
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.rank = rank
        self.world = world

    def _starts(self) -> range:
        last = self.n
        if self.world > 1 and self.n % self.batch_size and self.n % self.batch_size < self.world:
            # a final global batch smaller than the world would leave a rank without
            # examples (and DDP needs every rank to step together): drop it
            last = self.n - self.n % self.batch_size
        return range(0, last, self.batch_size)

    def __iter__(self):
        order = (torch.randperm(self.n, generator=self.generator).tolist() if self.shuffle
                 else list(range(self.n)))
        for start in self._starts():
            yield order[start:start + self.batch_size][self.rank::self.world]

    def __len__(self) -> int:
        return len(self._starts())
