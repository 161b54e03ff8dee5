"""synthetic: every generator is deterministic for a seed and its answers are right."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

from seqforge.data.generators import synthetic as syn
from seqforge.errors import DataError

MONTHS = {name: i + 1 for i, name in enumerate(syn.MONTHS)}
MONTHS.update({name[:3]: i + 1 for i, name in enumerate(syn.MONTHS)})
DAYS = {name: i for i, name in enumerate(syn.WEEKDAYS)}
DAYS.update({name[:3]: i for i, name in enumerate(syn.WEEKDAYS)})


def parse_human(text: str) -> dt.date:
    """An independent reader of the human formats (not the generator's own code)."""
    weekday = None
    if "," in text.split(" ")[0]:  # leading weekday
        head, text = text.split(", ", 1)
        weekday = DAYS[head]
    if m := re.fullmatch(r"([A-Za-z]+) (\d{1,2}), (\d{4})", text):
        day = dt.date(int(m[3]), MONTHS[m[1]], int(m[2]))
    elif m := re.fullmatch(r"(\d{1,2}) ([A-Za-z]+) (\d{4})", text):
        day = dt.date(int(m[3]), MONTHS[m[2]], int(m[1]))
    elif m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):
        day = dt.date(int(m[3]), int(m[1]), int(m[2]))
    elif m := re.fullmatch(r"(\d{2})\.(\d{2})\.(\d{4})", text):
        day = dt.date(int(m[3]), int(m[2]), int(m[1]))
    else:
        raise AssertionError(f"unexpected format {text!r}")
    if weekday is not None:
        assert day.weekday() == weekday, text
    return day


def test_date_pairs_are_correct_and_cover_formats():
    pairs = syn.date_pairs(600, seed=3)
    assert pairs == syn.date_pairs(600, seed=3)
    assert pairs != syn.date_pairs(600, seed=4)
    for human, iso in pairs:
        day = dt.date.fromisoformat(iso)
        assert parse_human(human) == day
        assert 1950 <= day.year <= 2049
    example = dt.date(2004, 7, 24)
    for shown, fmt in syn.DATE_FORMATS.items():
        assert fmt(example) == shown
    assert len({re.sub(r"\d", "0", h) for h, _ in pairs}) >= len(syn.DATE_FORMATS)


def test_addition_pairs():
    pairs = syn.addition_pairs(500, seed=0, max_digits=3)
    assert pairs == syn.addition_pairs(500, seed=0, max_digits=3)
    lengths = set()
    for question, answer in pairs:
        a, b = question.split("+")
        assert int(a) + int(b) == int(answer)
        assert str(int(a)) == a and len(a) <= 3
        lengths.add(len(a))
    assert lengths == {1, 2, 3}
    with pytest.raises(DataError, match="generator:addition_pairs"):
        syn.addition_pairs(3, 0, max_digits=0)


def test_reversal_pairs():
    pairs = syn.reversal_pairs(200, seed=1, min_len=2, max_len=4, alphabet="xyz")
    assert pairs == syn.reversal_pairs(200, seed=1, min_len=2, max_len=4, alphabet="xyz")
    for s, r in pairs:
        assert r == s[::-1] and 2 <= len(s) <= 4 and set(s) <= set("xyz")
    with pytest.raises(DataError):
        syn.reversal_pairs(3, 0, min_len=5, max_len=2)


def test_number_spellings():
    assert syn.spell_number(0) == "zero"
    assert syn.spell_number(123) == "one hundred twenty three"
    assert syn.spell_number(40) == "forty"
    assert syn.spell_number(1_000_017) == "one million seventeen"
    assert syn.spell_number(212_000) == "two hundred twelve thousand"
    pairs = syn.number_spellings(300, seed=2)
    assert pairs == syn.number_spellings(300, seed=2)
    assert all(0 <= v <= 999 for v, _ in pairs)
    assert len({w for _, w in pairs}) == len({v for v, _ in pairs})  # one spelling per value
    with pytest.raises(DataError):
        syn.number_spellings(3, 0, max_value=-1)


def test_waveforms():
    cond, y, labels, freqs = syn.waveforms(40, seed=5, length=30)
    assert cond.shape == (40, 5) and cond.dtype == np.float32
    assert y.shape == (40, 30, 1) and y.dtype == np.float32
    np.testing.assert_array_equal(cond[:, :4].argmax(1), labels)
    assert np.all((cond[:, 4] >= 0) & (cond[:, 4] <= 1))
    for i in range(40):
        kind = syn.WAVEFORM_CLASSES[labels[i]]
        np.testing.assert_array_equal(y[i, :, 0], syn.waveform(kind, freqs[i], 30))
    again = syn.waveforms(40, seed=5, length=30)
    np.testing.assert_array_equal(again[1], y)
    assert np.abs(y).max() <= 1.0


def test_single_waveforms_have_their_shape():
    f = 0.05  # period 20
    sine = syn.waveform("sine", f, 6)
    np.testing.assert_allclose(sine[:2], [0, np.sin(2 * np.pi * f)], atol=1e-6)
    assert set(syn.waveform("square", f, 40).tolist()) == {-1.0, 1.0}
    saw = syn.waveform("sawtooth", f, 20)
    assert np.all(np.diff(saw) > 0)  # one rising ramp per period
    tri = syn.waveform("triangle", f, 21)
    np.testing.assert_allclose(tri[[0, 5, 10, 15, 20]], [0, 1, 0, -1, 0], atol=1e-6)
    cond = syn.waveform_condition("square", syn.FREQ_RANGE[1])
    np.testing.assert_array_equal(cond, [0, 1, 0, 0, 1])
    with pytest.raises(DataError, match="did you mean 'sine'"):
        syn.waveform("sin", f, 10)
    with pytest.raises(DataError):
        syn.waveforms(3, 0, classes=("sine", "cosine"))


def test_anomaly_series():
    values, labels = syn.anomaly_series(length=2000, seed=1, n_anomalies=8)
    assert values.shape == (2000, 1) and values.dtype == np.float32
    assert labels.shape == (2000,) and labels.dtype == np.int8
    assert not labels[:800].any()  # the documented clean prefix
    # count separate runs of anomalous steps
    starts = np.flatnonzero(np.diff(np.concatenate([[0], labels])) == 1)
    assert len(starts) == 8
    assert 8 <= labels.sum() <= 80
    again = syn.anomaly_series(length=2000, seed=1, n_anomalies=8)
    np.testing.assert_array_equal(again[0], values)
    # spikes stand out from the clean signal
    clean = values[:800, 0]
    assert np.abs(values[labels == 1, 0] - clean.mean()).max() > 3 * clean.std()
    with pytest.raises(DataError, match="fewer anomalies"):
        syn.anomaly_series(length=200, n_anomalies=50)


def test_counts_are_checked():
    with pytest.raises(DataError, match="generator:date_pairs"):
        syn.date_pairs(-1, 0)
    assert syn.date_pairs(0, 0) == []
    cond, y, labels, freqs = syn.waveforms(0, 0)
    assert cond.shape == (0, 5) and y.shape == (0, 50, 1)
