"""Is an item (or a DataInfo) what its dataset declares? Checks shared by the dataset and
task contracts.

An item is a dict with a tensor ``x`` shaped as the dataset's ``provides`` says —
``(T, F)`` floats or ``(T,)`` token ids for a sequence, ``(F,)`` floats for a vector —
and, for labelled data, a target ``y``; every facet adds the keys its tasks read
(``Facet.item_keys``). The built-in facets also pin shapes (a ``Series`` window is
``window`` rows of ``inputs``) and their own consistency (``Classes.train_counts`` counts
the training split). Each check raises AssertionError saying what is wrong, where.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..data.facets import (AnomalyWindows, Classes, Generation, Pairs, Regression, Series,
                           TokenStream)
from ..data.info import DataInfo, Facet
from ..data.transforms.scalers import Scaler
from ..data.transforms.vocab import Vocab
from ..kinds import Shape


def fail(msg: str) -> None:
    raise AssertionError(msg)


def _is_int(t: Tensor) -> bool:
    return not (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool)


def _ids_in(t: Tensor, vocab: Vocab, what: str) -> None:
    if not _is_int(t):
        fail(f"{what} holds token ids, so it must be an integer tensor, not {t.dtype}")
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= len(vocab)):
        fail(f"{what}: ids {int(t.min())}..{int(t.max())} outside the vocabulary "
             f"0..{len(vocab) - 1}")


def _finite(t: Tensor, what: str) -> None:
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        fail(f"{what}: {int((~torch.isfinite(t)).sum())} non-finite values")


def check_x(x: Any, info: DataInfo, provides: Shape, where: str) -> None:
    """``x`` as ``provides`` and the DataInfo say (feature count, vocabulary ids)."""
    if not isinstance(x, Tensor):
        fail(f"{where}: x is {type(x).__name__}, not a tensor")
    if provides == Shape.VECTOR:
        if x.dim() != 1 or not x.is_floating_point():
            fail(f"{where}: a vector dataset's x is (F,) floats, got {tuple(x.shape)} {x.dtype}")
        if x.shape[0] != info.n_features:
            fail(f"{where}: x has {x.shape[0]} features, DataInfo.n_features says "
                 f"{info.n_features}")
    elif info.vocab is not None:
        if x.dim() != 1 or x.shape[0] < 1:
            fail(f"{where}: token input x is (T ≥ 1,) ids, got shape {tuple(x.shape)}")
        _ids_in(x, info.vocab, f"{where}: x")
    else:
        if x.dim() != 2 or x.shape[0] < 1 or not x.is_floating_point():
            fail(f"{where}: a sequence dataset's x is (T ≥ 1, F) floats (or (T,) ids with "
                 f"DataInfo.vocab), got {tuple(x.shape)} {x.dtype}")
        if x.shape[1] != info.n_features:
            fail(f"{where}: x has {x.shape[1]} features per step, DataInfo.n_features says "
                 f"{info.n_features}")
    _finite(x, f"{where}: x")


def check_y(y: Any, info: DataInfo, where: str) -> None:
    """``y``: a class index, target token ids, or finite values."""
    if not isinstance(y, Tensor):
        fail(f"{where}: y is {type(y).__name__}, not a tensor")
    classes = info.facets.get(Classes.name)
    if isinstance(classes, Classes):
        if y.numel() != 1 or not _is_int(y):
            fail(f"{where}: a class label y is one integer, got {tuple(y.shape)} {y.dtype}")
        if not 0 <= int(y) < len(classes.names):
            fail(f"{where}: label {int(y)} is not an index of the {len(classes.names)} classes")
    elif info.target_vocab is not None:
        _ids_in(y, info.target_vocab, f"{where}: y")
    _finite(y, f"{where}: y")
    if info.target_length is not None and y.dim() >= 1 and y.shape[0] > info.target_length:
        fail(f"{where}: y has {y.shape[0]} steps, more than DataInfo.target_length "
             f"{info.target_length}")


def check_item(item: Any, info: DataInfo, provides: Shape, where: str, *,
               split: bool = True) -> None:
    """One item of a split (``split``: with every facet's item keys) or of read_inputs."""
    if not isinstance(item, dict):
        fail(f"{where} is a {type(item).__name__}, not a dict of tensors and values")
    check_x(item.get("x"), info, provides, where)
    if "y" in item:
        check_y(item["y"], info, where)
    if not split:
        return
    for facet in info.facets.values():
        missing = [k for k in facet_item_keys(facet) if k not in item]
        if missing:
            fail(f"{where} lacks {', '.join(map(repr, missing))}: the {facet.name!r} facet's "
                 f"items carry {', '.join(facet_item_keys(facet))} (its tasks read them)")
        check = FACET_ITEM_CHECKS.get(type(facet))
        if check is not None:
            check(facet, item, where)


def facet_item_keys(facet: Facet) -> tuple[str, ...]:
    keys = tuple(getattr(type(facet), "item_keys", ()))
    if isinstance(facet, Generation):
        keys += tuple(facet.input_columns) + (("baseline",) if facet.baseline_name else ())
    return keys


# -- the built-in facets' shapes -----------------------------------------------------------------

def _series_item(f: Series, item: dict, where: str) -> None:
    T = len(f.targets)
    features = len(f.inputs) + 2 * len(f.calendar) + len(f.future)
    want = {"x": (f.window, features), "y": (f.horizon * T,),
            "y_loc": (T,), "y_scale": (T,), "hist": (f.history, T), "y_raw": (f.horizon * T,)}
    for key, shape in want.items():
        if tuple(item[key].shape) != shape:
            fail(f"{where}: {key} has shape {tuple(item[key].shape)}; the series facet (window "
                 f"{f.window}, horizon {f.horizon}, history {f.history}, {len(f.inputs)} inputs, "
                 f"{T} targets) says {shape}")
    if not isinstance(item["t"], (int, Tensor)) or int(item["t"]) < f.window:
        fail(f"{where}: t ({item['t']!r}) is the row of the first target, at least window")


def _anomaly_item(f: AnomalyWindows, item: dict, where: str) -> None:
    x = item["x"]
    if x.shape[0] != f.window or tuple(item["y"].shape) != tuple(x.shape):
        fail(f"{where}: a window is x ({f.window}, F) and y of the same shape; got x "
             f"{tuple(x.shape)}, y {tuple(item['y'].shape)}")


def _stream_item(f: TokenStream, item: dict, where: str) -> None:
    x, y = item["x"], item["y"]
    if tuple(x.shape) != tuple(y.shape) or x.shape[0] > f.seq_len:
        fail(f"{where}: x and y are (T ≤ seq_len {f.seq_len},) ids; got {tuple(x.shape)}, "
             f"{tuple(y.shape)}")


def _pairs_item(f: Pairs, item: dict, where: str) -> None:
    if not (isinstance(item["src"], str) and isinstance(item["tgt"], str)):
        fail(f"{where}: src and tgt are the pair's raw strings")
    if item["x"].shape[0] > f.max_source_len or item["y"].shape[0] > f.max_target_len + 1:
        fail(f"{where}: x or y is longer than the facet's max_source_len / max_target_len + 1")


def _regression_item(f: Regression, item: dict, where: str) -> None:
    y = item["y"]
    if tuple(y.shape) != (len(f.targets),) or not y.is_floating_point():
        fail(f"{where}: y is ({len(f.targets)},) floats, one per target {f.targets}; got "
             f"{tuple(y.shape)} {y.dtype}")


FACET_ITEM_CHECKS: dict[type, Callable[[Any, dict, str], None]] = {
    Series: _series_item, AnomalyWindows: _anomaly_item, TokenStream: _stream_item,
    Pairs: _pairs_item, Regression: _regression_item,
}


def check_facets(info: DataInfo, train_len: int) -> None:
    """The built-in facets agree with the DataInfo and with themselves."""
    s = info.facets.get(Series.name)
    if isinstance(s, Series):
        if not (set(s.inputs) | set(s.targets) | set(s.future)) <= set(s.columns):
            fail("series facet: inputs, targets and future columns must be among columns")
        if s.columns[:len(s.inputs)] != s.inputs:
            fail(f"series facet: columns {s.columns} must start with the inputs {s.inputs} "
                 "(the scaler's column order)")
        known = 2 * len(s.calendar) + len(s.future)  # appended after the inputs
        if info.n_features != len(s.inputs) + known or info.n_targets != len(s.targets):
            fail(f"DataInfo n_features {info.n_features} / n_targets {info.n_targets} do not "
                 f"match the series facet's {len(s.inputs)} inputs (+ {known} calendar and "
                 f"future features) / {len(s.targets)} targets")
    c = info.facets.get(Classes.name)
    if isinstance(c, Classes):
        if len(set(c.names)) != len(c.names) or len(c.train_counts) != len(c.names):
            fail(f"classes facet: {len(c.names)} names (unique) need as many train_counts, "
                 f"got {len(c.train_counts)}")
        if sum(c.train_counts) != train_len:
            fail(f"classes facet: train_counts sum to {sum(c.train_counts)}, but the training "
                 f"split has {train_len} examples")
    t = info.facets.get(TokenStream.name)
    if isinstance(t, TokenStream) and (info.vocab is None
                                       or len(t.unigram_counts) > len(info.vocab)):
        fail("token_stream facet: needs DataInfo.vocab, with a unigram count per id at most")


# -- comparing and serialising ---------------------------------------------------------------------

def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return (isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype == b.dtype
                and a.shape == b.shape and bool(torch.equal(a, b)))
    return a == b


def item_difference(a: dict, b: dict) -> str | None:
    """What differs between two items (None: nothing)."""
    if set(a) != set(b):
        return f"keys {sorted(a)} vs {sorted(b)}"
    for k in a:
        if not same_value(a[k], b[k]):
            return f"{k!r} differs ({_short(a[k])} vs {_short(b[k])})"
    return None


def _short(v: Any) -> str:
    if isinstance(v, Tensor):
        return f"tensor {tuple(v.shape)} {v.dtype}"
    return repr(v)[:60]


def json_round_trip(obj: Any, what: str) -> Any:
    """``obj`` through strict JSON (no NaN), or AssertionError naming what is not JSON."""
    try:
        return json.loads(json.dumps(obj, allow_nan=False))
    except (TypeError, ValueError) as exc:
        fail(f"{what} is not plain JSON ({exc}) — it could not be saved with a run")


def transforms_of(info: DataInfo) -> dict[str, Any]:
    """Every fitted transform a DataInfo holds (vocabularies, scalers), as saved state."""
    out: dict[str, Any] = {}
    for key in ("vocab", "target_vocab"):
        if getattr(info, key) is not None:
            out[key] = getattr(info, key).to_dict()
    for fname, facet in info.facets.items():
        for field in type(facet).model_fields:
            value = getattr(facet, field)
            if isinstance(value, Vocab):
                out[f"{fname}.{field}"] = value.to_dict()
            elif isinstance(value, Scaler):
                out[f"{fname}.{field}"] = value.state_dict()
    return out


def finite_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


__all__ = ["check_item", "check_x", "check_y", "check_facets", "facet_item_keys",
           "item_difference", "json_round_trip", "transforms_of", "fail"]
