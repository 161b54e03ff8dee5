"""``number_spelling``: a number in, its English spelling out, word by word (one-to-many).

The input vector is the number's decimal digits, each one-hot, most significant first,
left-padded with zeros to the width of ``max_value`` (342 → digits 3, 4, 2 → 30 numbers
for ``max_value: 999``). The target is the word tokens of
:func:`seqforge.data.synthetic.spell_number` followed by ``<eos>``
(342 → ``three hundred forty two <eos>``).

Every value in 0..max_value appears once, in a random order fixed by ``data_seed``, and
the splits are disjoint: the test numbers are numbers the model never saw, so it must
have learned how spelling is *composed* from digits, not memorised pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import Field

from ...errors import DataError
from ...kinds import Shape
from ..base import DataBundle, DataInfo, DataParams, DatasetSource, Inputs, TensorItems, fingerprint
from ..base import columns_of
from ..facets import Generation
from ..generators.synthetic import spell_number
from ..io.table import Table, as_table, resolve_columns
from ..transforms.vocab import Vocab

SOURCE = "generator:number_spellings"


class SpellingParams(DataParams):
    max_value: int = Field(999, ge=9, le=999_999_999, description="largest number spelled")
    val: float = Field(0.1, ge=0, lt=1, description="share of the numbers held out for validation")
    test: float = Field(0.1, ge=0, lt=1, description="share of the numbers held out for testing")
    data_seed: int = Field(0, ge=0, description="order of the numbers (fixed: the data does "
                           "not change with the training seed)")


def digits_onehot(value: int, width: int) -> np.ndarray:
    """(width·10,) float32: each decimal digit one-hot, most significant first."""
    out = np.zeros((width, 10), dtype=np.float32)
    out[np.arange(width), [int(c) for c in str(value).zfill(width)]] = 1.0
    return out.reshape(-1)


class NumberSpelling(DatasetSource):
    """Number → its English words (generated; nothing to download)."""

    Params = SpellingParams
    provides = Shape.VECTOR
    facets = (Generation,)

    def load(self) -> DataBundle:
        p = self.params
        n = p.max_value + 1
        if p.val + p.test >= 1:
            raise DataError(f"val {p.val} + test {p.test} leaves no numbers for training",
                            source=SOURCE)
        if n > 2_000_000:
            raise DataError(f"{n} numbers are too many to enumerate; lower max_value",
                            source=SOURCE)
        width = len(str(p.max_value))
        values = np.random.default_rng(p.data_seed).permutation(n)  # (n,)
        n_test, n_val = int(round(n * p.test)), int(round(n * p.val))
        parts = {"test": values[:n_test], "val": values[n_test:n_test + n_val],
                 "train": values[n_test + n_val:]}
        words = {name: [spell_number(int(v)).split() for v in vals] for name, vals in parts.items()}
        # built from the training spellings only: a word never seen in training is <unk>
        vocab = (self.saved.target_vocab if self.saved is not None else
                 Vocab.build(words["train"]))
        splits = {}
        for name, vals in parts.items():
            if not len(vals):
                splits[name] = None
                continue
            x = torch.from_numpy(np.stack([digits_onehot(int(v), width)
                                           for v in vals]))  # (m, 10·D)
            y = [torch.tensor(vocab.encode(w, add_eos=True), dtype=torch.long) for w in words[name]]
            splits[name] = TensorItems(x=x, y=y, value=[int(v) for v in vals])
        longest = max(len(w) for ws in words.values() for w in ws) + 1  # + <eos>
        info = DataInfo(input=Shape.VECTOR, n_features=10 * width, target_vocab=vocab,
                        target_length=longest).with_facets(
            Generation(input_columns=["value"], joiner=" "))
        return DataBundle(splits["train"], splits["val"], splits["test"], info, source=SOURCE,
                          fingerprint=fingerprint(values, p.model_dump_json()))

    def example_keys(self, bundle: DataBundle, split: str) -> set[int]:
        """Each example's number: every number is in exactly one split."""
        return {int(v) for v in columns_of(bundle.split(split), "value")["value"]}

    def example_inputs(self, bundle: DataBundle) -> Table:
        """A few test numbers as a ``value`` column."""
        values = columns_of(bundle.test or bundle.train, "value")["value"][:5]
        return as_table({"value": [int(v) for v in values]}, source="test numbers")

    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """A table with a ``value`` column of whole numbers → one spelling each (with the
        true spelling as target when ``targets``)."""
        table = as_table(inputs)
        (k,) = resolve_columns(["value"], table.header, table.source)
        top = self.params.max_value
        width = len(str(top))
        items = []
        for row, line in zip(table.rows, table.lines):
            text = row[k].strip()
            try:
                v = int(text)
            except ValueError:
                raise DataError(f"value {text!r} is not a whole number", source=table.source,
                                line=line) from None
            if not 0 <= v <= top:
                raise DataError(f"value {v} is outside 0..{top}, the range the model learned",
                                source=table.source, line=line)
            item = {"x": torch.from_numpy(digits_onehot(v, width)), "value": v}
            if targets:
                item["y"] = torch.tensor(info.target_vocab.encode(spell_number(v).split(),
                                                                  add_eos=True), dtype=torch.long)
            items.append(item)
        return items
