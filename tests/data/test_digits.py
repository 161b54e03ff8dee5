"""digits: the sequential-digits data, and the install hint when sklearn is missing."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from seqforge.data.io.digits import load_digits_sequences
from seqforge.errors import DataError


def test_shapes_range_and_labels():
    x, y = load_digits_sequences()
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


def test_missing_sklearn_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(DataError, match=r"pip install 'seqforge\[digits\]'"):
        load_digits_sequences()
