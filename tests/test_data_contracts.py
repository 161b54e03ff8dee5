"""The dataset and task contracts (``seqforge.testing``) over the whole registry.

* every registered dataset — the example plugin's ``mackey_glass`` included — is checked
  in one or more small configurations (:data:`CONFIGS`); the ones that read files get
  small real files written here into a temporary folder. A dataset registered without a
  configuration here fails :func:`test_every_registered_dataset_is_checked`;
* every registered task is checked on every configuration whose dataset provides the
  facets it requires, so a new task or dataset is paired without touching this file.

The kit's own failure detection (deliberately broken datasets and tasks) is in
``tests/test_data_contracts_kit.py``.
"""

from __future__ import annotations

import math

import pytest

from seqforge.plugins import get_registry
from seqforge.spec.fit import declared
from seqforge.testing import (DATASET_PROPERTIES, TASK_PROPERTIES, dataset_subject,
                              run_dataset_property, run_task_property, task_subject)


def _prices() -> str:
    rows = ["Date,Open,Volume"]
    for i in range(120):
        day = f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}"
        rows.append(f"{day},{100 + 10 * math.sin(i / 5) + 0.1 * i:.4f},{1000 + (37 * i) % 100}")
    return "\n".join(rows) + "\n"


def _anomalies() -> str:
    rows = ["value,label"]
    for i in range(600):
        spike = i in (350, 351, 470, 520)
        rows.append(f"{math.sin(2 * math.pi * i / 24) + (4.0 if spike else 0.0):.5f},{int(spike)}")
    return "\n".join(rows) + "\n"


def _topics() -> str:
    words = {"net": "socket url request", "file": "path open write", "test": "assert case mock"}
    rows = ["text,label"]
    for i in range(60):
        label = list(words)[i % 3]
        rows.append(f"{words[label]} example {i},{label}")
    return "\n".join(rows) + "\n"


def _corpus() -> str:
    return "".join(f"the {'quick' if i % 2 else 'slow'} fox number {i % 17} jumps over the dog\n"
                   for i in range(200))


def _pairs() -> str:
    letters = "abcde"
    words = ["".join(letters[(i // 5 ** k) % 5] for k in range(4)) for i in range(300)]
    return "".join(f"{w}\t{w[::-1]}\n" for w in words)


def _ucr(seed: int, n: int = 30) -> str:
    """Archive-format rows (label first): three classes of noisy shapes, length 24."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, 24)
    shapes = [np.sin(6 * t), np.sign(np.sin(6 * t)), t]
    rows = []
    for i in range(n):
        k = i % 3
        x = shapes[k] + rng.normal(0, 0.1, 24) + 0.01 * i  # distinct series
        rows.append(",".join([str(k + 1)] + [f"{v:.5f}" for v in x]))
    return "\n".join(rows) + "\n"


def _series(seed: int, n: int):
    """(values, label) of three classes of noisy shapes; lengths 16-24 (variable)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k, length = i % 3, 16 + (i * 7 + seed) % 9
        t = np.linspace(0, 1, length)
        shape = [np.sin(6 * t), np.sign(np.sin(6 * t)), t][k]
        out.append((np.stack([shape, t * (k + 1)], 1) + rng.normal(0, 0.1, (length, 2)),
                    "abc"[k]))
    return out


def _ts(seed: int, n: int = 30) -> str:
    """A .ts file: two channels, variable length."""
    head = ["@problemName toy", "@timeStamps false", "@univariate false", "@dimensions 2",
            "@equalLength false", "@classLabel true a b c", "@data"]
    body = [":".join(",".join(f"{v:.5f}" for v in x[:, c]) for c in range(2)) + f":{lab}"
            for x, lab in _series(seed, n)]
    return "\n".join(head + body) + "\n"


def _long(seed: int, n: int = 30) -> str:
    """A long CSV: id, t, two channels, label; rows out of time order."""
    rows = ["id,t,acc,gyro,label"]
    for k, (x, lab) in enumerate(_series(seed, n)):
        rows += [f"s{seed}_{k},{t},{x[t, 0]:.5f},{x[t, 1]:.5f},{lab}"
                 for t in reversed(range(len(x)))]
    return "\n".join(rows) + "\n"


#: id -> (dataset, params, files, refit): small, each loads in well under a second. refit:
#: params under which refitting changes a fitted transform (the ``saved`` property checks
#: that saved= keeps the old one); None: another seed is tried
CONFIGS: dict[str, tuple[str, dict, dict, dict | None]] = {
    "timeseries_csv-goog": ("timeseries_csv", {"window": 8, "test": 0.1}, {}, {"test": 0.3}),
    "timeseries_csv-file": ("timeseries_csv", {
        "source": "prices.csv", "target": "Open", "inputs": ["Open", "Volume"], "window": 5,
        "horizon": 2, "scaler": "standard"}, {"prices.csv": _prices()}, {"val": 0.3}),
    "timeseries_csv-future": ("timeseries_csv", {
        "source": "prices.csv", "target": "Open", "future": ["Volume"], "window": 5,
        "horizon": 2}, {"prices.csv": _prices()}, {"val": 0.3}),
    "mackey_glass": ("mackey_glass", {"length": 300, "window": 8}, {}, {"tau": 30.0}),
    "digits": ("digits", {}, {}, None),
    "text_csv": ("text_csv", {"source": "topics.csv"}, {"topics.csv": _topics()}, None),
    "text-stdlib": ("text", {"max_chars": 20_000, "seq_len": 20}, {}, {"val": 0.2}),
    "text-file": ("text", {"source": "corpus.txt", "level": "word", "seq_len": 12},
                  {"corpus.txt": _corpus()}, {"min_freq": 100}),
    # 2000 additions of two-digit operands repeat sources: val and test must not share any
    "seq2seq-addition": ("seq2seq", {"source": "addition", "n": 2000, "max_digits": 2}, {}, None),
    "seq2seq-file": ("seq2seq", {"source": "pairs.tsv"}, {"pairs.tsv": _pairs()}, None),
    "anomaly_series-synthetic": ("anomaly_series", {"length": 600, "window": 16}, {},
                                 {"normal_fraction": 0.5}),
    "anomaly_series-file": ("anomaly_series", {"source": "series.csv", "window": 12},
                            {"series.csv": _anomalies()}, {"normal_fraction": 0.5}),
    "waveforms": ("waveforms", {"n_train": 40, "n_val": 10, "n_test": 10, "length": 12}, {}, None),
    "number_spelling": ("number_spelling", {"max_value": 99}, {}, {"max_value": 20}),
    "labelled_series-ucr": ("labelled_series", {"train": "s_TRAIN.csv", "test": "s_TEST.csv",
                            "normalize": "global"},
                            {"s_TRAIN.csv": _ucr(0), "s_TEST.csv": _ucr(1, 15)}, {"val": 0.3}),
    "adding": ("adding", {"length": 12, "n_train": 40, "n_val": 10, "n_test": 10}, {}, None),
    "copy": ("copy", {"length": 12, "tokens": 3, "symbols": 6, "n_train": 40, "n_val": 10,
                      "n_test": 10}, {}, None),
    "copy-selective": ("copy", {"length": 16, "tokens": 3, "symbols": 3, "selective": True,
                                "n_train": 40, "n_val": 10, "n_test": 10}, {}, None),
    "sequential_digits-permuted": ("sequential_digits", {"permute": True}, {}, None),
    "sequential_digits-scaled": ("sequential_digits", {"scale": 2}, {}, None),
    "labelled_series-ts": ("labelled_series", {"train": "s_TRAIN.ts", "test": "s_TEST.ts"},
                           {"s_TRAIN.ts": _ts(0), "s_TEST.ts": _ts(1, 12)}, None),
    "labelled_series-long": ("labelled_series", {"train": "s.csv", "time_column": "t",
                                                 "normalize": "global", "test": 0.25},
                             {"s.csv": _long(0, 40)}, {"val": 0.3}),
}

_REG = get_registry()
DATASETS = sorted(_REG.entries["dataset"])
TASKS = sorted(_REG.entries["task"])


def _facets_of(config: str) -> set[str]:
    name, params, _, _ = CONFIGS[config]
    cls = _REG.get("dataset", name)
    return {f.name for f in declared(cls, "facets", cls.Params.model_validate(params)) or ()}


def _fits(task: str) -> list[str]:
    needs = {f.name for f in declared(_REG.get("task", task), "requires", None) or ()}
    return [c for c in CONFIGS if needs <= _facets_of(c)]


#: (task, configuration) for every task and every configuration that fits it
TASK_PAIRS = [(t, c) for t in TASKS for c in _fits(t)]


def test_every_registered_dataset_is_checked():
    missing = sorted(set(DATASETS) - {name for name, *_ in CONFIGS.values()})
    assert not missing, f"add a small configuration for {missing} to CONFIGS"
    assert "mackey_glass" in DATASETS, "the example plugin's dataset is checked too"
    assert not _REG.failures, _REG.failures


def test_every_registered_task_is_checked():
    assert {"forecast", "classify", "language_model", "seq2seq", "anomaly",
            "generate_sequence", "regress"} <= set(TASKS)
    unpaired = [t for t in TASKS if not _fits(t)]
    assert not unpaired, f"no configuration provides the facets of {unpaired}"


@pytest.fixture(scope="module")
def subjects(tmp_path_factory):
    """Dataset subjects (each loads once, when first used) and task subjects built on
    them, so every property of one configuration shares its load."""
    datasets, tasks = {}, {}

    def dataset(config: str):
        if config not in datasets:
            name, params, files, refit = CONFIGS[config]
            folder = tmp_path_factory.mktemp(config)
            for rel, text in files.items():
                (folder / rel).write_text(text)
            datasets[config] = dataset_subject(name, params=params, base_dir=folder,
                                               refit=refit)
        return datasets[config]

    def task(name: str, config: str):
        if (name, config) not in tasks:
            tasks[name, config] = task_subject(name, dataset=dataset(config))
        return tasks[name, config]

    return dataset, task


@pytest.mark.parametrize("prop", list(DATASET_PROPERTIES))
@pytest.mark.parametrize("config", list(CONFIGS))
def test_dataset_contract(config, prop, subjects):
    dataset, _ = subjects
    run_dataset_property(dataset(config), prop)


@pytest.mark.parametrize("prop", list(TASK_PROPERTIES))
@pytest.mark.parametrize("task,config", TASK_PAIRS, ids=[f"{t}-{c}" for t, c in TASK_PAIRS])
def test_task_contract(task, config, prop, subjects):
    _, make = subjects
    run_task_property(make(task, config), prop)
