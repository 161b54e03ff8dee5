"""Builders shared by the classification tests: toy review CSVs, specs, tiny bundles."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import torch

from seqforge.api import load_spec
from seqforge.data.base import DataBundle, DataInfo, TensorItems
from seqforge.data.facets import Classes

# ----------------------------------------------------------------------------- helpers

POS = ["good", "great", "lovely", "superb", "fine"]
NEG = ["bad", "awful", "poor", "dull", "sad"]
FILLER = ["the", "a", "movie", "was", "and", "plot", "it", "very", "really", "acting", "story",
          "of", "with", "film", "this", "scenes", "music"]


def write_csv(path: Path, rows: list[dict], fields: list[str] | None = None) -> Path:
    fields = fields or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return path


def review_rows(n: int, seed: int = 0) -> list[dict]:
    """Toy reviews of varying length (3–16 words): filler plus one or two sentiment words
    at random places, so the label depends on *which* words occur, not where."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "pos" if i % 3 else "neg"  # 2:1, so the majority class is not trivial
        words = [rng.choice(FILLER) for _ in range(rng.randint(2, 14))]
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(POS if label == "pos" else NEG))
        rows.append({"review": " ".join(words).capitalize() + ".", "sentiment": label})
    return rows


def text_spec(csv_path: Path, **over) -> dict:
    data = {"dataset": "text_csv", "source": csv_path.name, "text_column": "review",
            "label_column": "sentiment", "level": "word", "val": 0.15, "test": 0.25}
    data.update(over.pop("data", {}))
    model = {"topology": "many_to_one", "cell": "gru", "embedding": 16, "hidden_size": 24}
    model.update(over.pop("model", {}))
    train_ = {"epochs": 12, "batch_size": 16, "optimizer": {"name": "adam", "lr": 1.0e-2},
              "device": "cpu"}
    train_.update(over.pop("train", {}))
    spec = {"name": "tiny_reviews", "seed": 0, "data": data, "model": model,
            "task": "classify", "train": train_}
    spec.update(over)
    return spec


def load(spec: dict, base: Path):
    return load_spec(spec, base_dir=base)


def tiny_bundle(train_y, test_y, k: int) -> DataBundle:
    def items(y):
        return TensorItems(x=torch.zeros(len(y), 3, 1), y=torch.tensor(y, dtype=torch.long))

    counts = np.bincount(train_y, minlength=k).tolist()
    info = DataInfo(input="sequence", n_features=1).with_facets(
        Classes(names=[f"c{i}" for i in range(k)], train_counts=counts))
    return DataBundle(items(train_y), None, items(test_y), info)
