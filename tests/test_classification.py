"""Sequence classification: metrics (by hand and against scikit-learn), the majority
baseline, class weights, predictions, stratified splits. Datasets, padding and end to end:
test_classification_data.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from classify_helpers import (
    tiny_bundle,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from seqforge.data.base import DataBundle, DataInfo, TensorItems
from seqforge.data.splits import split_indices
from seqforge.errors import DataError, SpecError
from seqforge.tasks.classify import (
    Classify,
    ClassifyMetrics,
    ClassifyParams,
    accuracy_from,
    confusion_matrix,
    macro_f1_from,
    scores,
)

# ----------------------------------------------------------------------------- metrics


def test_metrics_match_hand_computation():
    y_true = [0, 0, 1, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 0, 2]
    cm = confusion_matrix(y_true, y_pred, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 2]]
    assert accuracy_from(cm) == pytest.approx(5 / 7)
    # F1 = 2TP / (2TP + FP + FN): class 0: 2/4, class 1: 4/5, class 2: 4/5
    assert macro_f1_from(cm) == pytest.approx((0.5 + 0.8 + 0.8) / 3)
    # a class absent from both truth and predictions is not averaged in
    assert scores(y_true, y_pred, 5)["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.8) / 3)
    # a class predicted but never true scores 0 and *is* averaged in
    assert scores([0, 0], [0, 1], 2)["macro_f1"] == pytest.approx((2 / 3 + 0) / 2)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 6).flatmap(lambda k: st.tuples(
    st.just(k), st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)),
                         min_size=1, max_size=60))))
def test_metrics_agree_with_sklearn(case):
    skm = pytest.importorskip("sklearn.metrics")
    k, pairs = case
    y_true, y_pred = (np.array(v) for v in zip(*pairs))
    got = scores(y_true, y_pred, k)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert got["macro_f1"] == pytest.approx(
        skm.f1_score(y_true, y_pred, average="macro", zero_division=0))


def test_metrics_accumulate_over_batches():
    rng = np.random.default_rng(0)
    logits = torch.tensor(rng.normal(size=(50, 4)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, 4, size=50))
    m = ClassifyMetrics(4)
    for s in (slice(0, 7), slice(7, 31), slice(31, 50)):
        m.update(logits[s], {"y": y[s]})
    assert m.compute() == pytest.approx(scores(y.numpy(), logits.argmax(1).numpy(), 4))


def test_majority_baseline_is_train_majority_scored_on_split():
    bundle = tiny_bundle(train_y=[2, 2, 2, 0, 1], test_y=[0, 2, 2, 1], k=3)
    task = Classify(None, bundle.info)
    assert task.majority_class() == 2
    base = task.baseline(bundle.test)
    assert base["accuracy"] == pytest.approx(2 / 4)
    # predicting 2 everywhere: F1 of class 2 = 2·2/(2·2+2+0) = 2/3; classes 0, 1 score 0
    assert base["macro_f1"] == pytest.approx((0 + 0 + 2 / 3) / 3)
    assert task.baseline(bundle.val) == {}  # no val split
    # ties go to the lowest class index, so the baseline is deterministic
    assert Classify(None, tiny_bundle([1, 0, 1, 0], [0], 2).info).majority_class() == 0


def test_balanced_class_weights_in_loss():
    bundle = tiny_bundle(train_y=[0, 0, 0, 1], test_y=[0], k=2)
    task = Classify(ClassifyParams(class_weights="balanced"), bundle.info)
    out = torch.tensor([[2.0, -1.0], [0.5, 0.3], [-1.0, 1.0]])
    y = torch.tensor([0, 1, 1])
    w = torch.tensor([4 / (2 * 3), 4 / (2 * 1)])  # N / (K · n_c)
    assert task.loss(out, {"y": y}) == pytest.approx(float(F.cross_entropy(out, y, weight=w)))
    plain = Classify(None, bundle.info)
    assert plain.loss(out, {"y": y}) == pytest.approx(float(F.cross_entropy(out, y)))


def test_predict_rows_have_label_and_probability():
    bundle = tiny_bundle([0, 1], [0], 2)
    task = Classify(None, bundle.info)

    def model(batch):
        return torch.tensor([[0.0, 2.0], [3.0, 0.0]]), None

    rows = task.predict(model, {"x": torch.zeros(2, 1, 1), "y": torch.tensor([1, 1]),
                                "text": ["a", "b"]})
    assert [r["label"] for r in rows] == ["c1", "c0"]
    assert rows[0]["probability"] == pytest.approx(float(torch.softmax(torch.tensor([0.0, 2.0]), 0)[1]),
                                                   abs=1e-6)
    assert rows[1] == {"text": "b", "true_label": "c1", "label": "c0",
                       "probability": pytest.approx(0.952574, abs=1e-6)}


def test_classify_needs_class_labels():
    info = DataInfo(input="sequence", n_features=1, n_targets=1)
    bundle = DataBundle(TensorItems(x=torch.zeros(2, 3, 1), y=torch.zeros(2)), None, None, info)
    with pytest.raises(SpecError, match="needs a dataset with the 'classes' facet"):
        Classify(None, bundle.info)


# ----------------------------------------------------------------------------- splits


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=12, max_size=120), st.integers(0, 2**31 - 1),
       st.booleans())
def test_split_indices_partition(labels, seed, stratified):
    y = np.array(labels)
    try:
        tr, va, te = split_indices(y, 0.1, 0.2, seed=seed, stratified=stratified)
    except DataError:
        return  # too few examples for a fraction: reported, not silently empty
    together = np.concatenate([tr, va, te])
    assert sorted(together.tolist()) == list(range(len(y)))  # disjoint and complete
    if stratified:
        assert set(y[tr].tolist()) == set(y.tolist())  # every class is trained on
    again = split_indices(y, 0.1, 0.2, seed=seed, stratified=stratified)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))


def test_stratified_split_keeps_class_mix():
    y = np.array([0] * 80 + [1] * 20)
    tr, va, te = split_indices(y, 0.1, 0.2, seed=3)
    assert (y[te] == 1).sum() == 4 and (y[va] == 1).sum() == 2
    other = split_indices(y, 0.1, 0.2, seed=4)
    assert not np.array_equal(te, other[2])  # the seed matters


def test_split_fraction_below_one_example_is_an_error():
    with pytest.raises(DataError, match="test fraction 0.01 of 10 examples"):
        split_indices(np.arange(10) % 2, 0.0, 0.01, seed=0, stratified=False, source="x.csv")
