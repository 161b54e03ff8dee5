"""classify's strong baselines (1-NN Euclidean / DTW, n-gram logistic regression), the
many_to_one options under the topology contract, label smoothing, warm-up, and text
datasets with fixed split files."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqforge.api import load_run, load_spec, train
from seqforge.data.sources.text_csv import TextCSV, TextCSVParams
from seqforge.errors import DataError
from seqforge.optim import Warmup
from seqforge.tasks.scoring.neighbours import dtw_distances, dtw_numpy, euclidean_distances
from seqforge.tasks.scoring.ngrams import NgramBaseline
from seqforge.testing import run_topology_property


def dtw_reference(a: np.ndarray, b: np.ndarray, w: int) -> float:
    """The textbook O(T²) DTW with a Sakoe–Chiba band, squared costs."""
    T = len(a)
    D = np.full((T + 1, T + 1), np.inf)
    D[0, 0] = 0.0
    for i in range(1, T + 1):
        for j in range(max(1, i - w), min(T, i + w) + 1):
            c = float(((a[i - 1] - b[j - 1]) ** 2).sum())
            D[i, j] = c + min(D[i - 1, j], D[i, j - 1], D[i - 1, j - 1])
    return D[T, T]


@pytest.mark.parametrize("channels", [1, 3])
def test_dtw_matches_the_textbook_recursion(channels):
    rng = np.random.default_rng(channels)
    q, r = rng.normal(size=(3, 20, channels)), rng.normal(size=(4, 20, channels))
    want = np.array([[dtw_reference(a, b, 2) for b in r] for a in q])
    np.testing.assert_allclose(dtw_numpy(q, r, 0.1), want, rtol=1e-9)
    np.testing.assert_allclose(dtw_distances(q, r, 0.1), want, rtol=1e-6)  # C when installed
    # a full window can only warp better than Euclidean (the diagonal is one path)
    assert (dtw_numpy(q, r, 1.0) <= euclidean_distances(q, r) + 1e-9).all()
    np.testing.assert_allclose(euclidean_distances(q, r),
                               ((q[:, None] - r[None]) ** 2).sum((2, 3)), rtol=1e-9)


def test_ngram_baseline_state_round_trip():
    pytest.importorskip("sklearn")
    texts = [f"{w} and more {w} text" for w in ["spam", "ham"] * 20]
    y = np.array([0, 1] * 20)
    b = NgramBaseline().fit(texts, y)
    again = NgramBaseline(b.state_dict())
    new = ["spam spam", "ham text", "more ham"]
    assert again.predict(new).tolist() == b.predict(new).tolist() == [0, 1, 1]


def test_label_smoothing_and_warmup():
    from seqforge.data.base import DataInfo
    from seqforge.data.facets import Classes
    from seqforge.tasks.classify import Classify, ClassifyParams

    info = DataInfo(input="sequence", n_features=1).with_facets(
        Classes(names=["a", "b"], train_counts=[1, 1]))
    out, y = torch.tensor([[2.0, -1.0], [0.1, 0.4]]), torch.tensor([0, 1])
    task = Classify(ClassifyParams(label_smoothing=0.2), info)
    assert float(task.loss(out, {"y": y})) == pytest.approx(
        float(F.cross_entropy(out, y, label_smoothing=0.2)))
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = Warmup.build(opt, Warmup.Params(warmup_steps=4, start_factor=0.2), epochs=1,
                         steps_per_epoch=10)
    lrs = []
    for _ in range(6):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 1.0])
    with pytest.raises(ValueError, match="not both"):
        Warmup.Params(warmup_steps=2, warmup_epochs=1)


@pytest.mark.parametrize("prop", ["shapes", "batch_independence", "padding_invariance",
                                  "gradcheck"])
def test_many_to_one_options_pass_the_topology_contract(prop):
    run_topology_property("many_to_one", prop, cells=("gru", "lstm"), max_examples=12, params={
        "conv": ["none", "parallel", "serial"], "conv_kernels": [[3, 2]],
        "conv_channels": [None, [3, 2]], "conv_norm": ["layer", "batch"],
        "pooling": ["last", "mean", "max", "attention"],
        "embedding_dropout": [0.0, 0.3], "recurrent_dropout": [0.0, 0.4]})


def test_many_to_one_options_are_validated():
    from seqforge.topologies.many_to_one import ManyToOneParams

    with pytest.raises(ValueError, match="one entry per block"):
        ManyToOneParams(conv="parallel", conv_channels=[4, 4], conv_kernels=[3])
    with pytest.raises(ValueError):
        ManyToOneParams(recurrent_dropout=1.0)


def _texts(path, n, seed):
    rng = np.random.default_rng(seed)
    words = {"pos": ["good", "great", "fine"], "neg": ["bad", "dull", "poor"]}
    rows = []
    for i in range(n):
        lab = "pos" if i % 2 else "neg"
        filler = list(rng.choice(["the", "film", "was", "and", "plot"], size=5))
        filler.insert(int(rng.integers(0, 5)), str(rng.choice(words[lab])))
        rows.append({"text": " ".join(filler), "label": lab})
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows(rows)
    return path


def test_text_csv_fixed_split_files(tmp_path):
    _texts(tmp_path / "tr.csv", 40, 0)
    _texts(tmp_path / "te.csv", 12, 1)
    b = TextCSV(TextCSVParams(train="tr.csv", test="te.csv", val=0.25), base_dir=tmp_path).load()
    assert (len(b.train), len(b.val), len(b.test)) == (30, 10, 12)
    assert b.test.columns["text"][0] and b.test[0]["y"].dtype == torch.long
    (tmp_path / "bad.csv").write_text("text,label\nok,pos\nmeh,mixed\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.csv \(line 3\): label 'mixed'"):
        TextCSV(TextCSVParams(train="tr.csv", test="bad.csv"), base_dir=tmp_path).load()
    with pytest.raises(ValueError, match="exactly once"):
        TextCSVParams(source="tr.csv", train="tr.csv")


@pytest.mark.slow
def test_text_run_reports_ngram_baseline_from_a_loaded_run(tmp_path):
    pytest.importorskip("sklearn")
    _texts(tmp_path / "tr.csv", 60, 0)
    _texts(tmp_path / "te.csv", 20, 1)
    spec = load_spec({"name": "t", "data": {"dataset": "text_csv", "train": "tr.csv",
                                            "test": "te.csv", "val": 0.2},
                      "model": {"topology": "many_to_one", "cell": "gru", "embedding": 8,
                                "hidden_size": 8, "pooling": "max"},
                      "task": "classify",
                      "train": {"epochs": 3, "device": "cpu", "threads": 1}}, base_dir=tmp_path)
    run = train(spec, out=tmp_path / "runs")
    names = [b["name"] for b in run.summary["baselines"]]
    assert names == ["majority class", NgramBaseline.name]
    res = load_run(run.dir).evaluate(data=tmp_path / "te.csv")
    assert res["examples"] == 20
    assert [b["name"] for b in res["baselines"]] == names  # kept in the run's task state
    assert res["baselines"][1]["accuracy"] == run.summary["baselines"][1]["accuracy"]


def test_recurrent_dropout_with_max_pooling_drops_the_maximum_not_the_steps():
    """Dropout before a max would inflate every training-time maximum by 1/(1-p) over the
    eval-time one; after it, a kept entry is the maximum scaled, as dropout's own."""
    from seqforge.cells.gru import GRUCell
    from seqforge.data.base import DataInfo
    from seqforge.spec.schema import Component, ModelSpec
    from seqforge.topologies.many_to_one import ManyToOne, ManyToOneParams

    spec = ModelSpec(topology=Component(name="many_to_one"), cell=Component(name="gru"),
                     hidden_size=6)
    model = ManyToOne(spec, ManyToOneParams(pooling="max", recurrent_dropout=0.5),
                      GRUCell).build(DataInfo(input="sequence", n_features=3), 2)
    h = torch.rand(4, 7, 6) + 0.1  # (B, T, H)
    mask = torch.ones(4, 7, dtype=torch.bool)
    top = h.amax(1)
    model.train()
    out = model._pool(h, None, mask)
    assert torch.all((out == 0) | torch.isclose(out, 2 * top))
    model.eval()
    assert torch.equal(model._pool(h, None, mask), top)
