"""Hypothesis strategies for *malformed* specs (used by ``tests/test_fuzz_specs.py``).

A malformed spec starts from a valid one — the built-in forecasting probe or any spec
shipped in ``specs/`` — and gets one to three mutations: a value replaced by junk of any
type, a key or a whole section deleted, an unknown key added, a component name replaced
by a typo / random text / a dotted import path, a size set to an extreme or negative
number, a value wrapped in a list or mapping, a key that is not a string. The YAML-text
strategy then also damages the text itself (stray characters, bad indentation, tabs,
truncation, code tags, anchors, invalid UTF-8).

Example counts scale with ``SEQFORGE_HYPOTHESIS_PROFILE`` (see ``seqforge/testing/settings.py``):
the default ``ci`` profile runs 1,000+ examples in all, in seconds; ``thorough`` ten times more.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from seqforge.spec.loader import load_yaml_file
from seqforge.testing.settings import current

REPO = Path(__file__).resolve().parents[1]

#: a valid spec touching every section and most train options
PROBE: dict[str, Any] = {
    "name": "fuzz_probe",
    "seed": 0,
    "data": {"dataset": "timeseries_csv", "source": "builtin:goog", "target": "Open",
             "window": 8, "horizon": 1, "scaler": "minmax", "val": 0.1, "test": 0.2},
    "model": {"topology": "many_to_one", "cell": {"name": "lstm"}, "hidden_size": 4,
              "num_layers": 1, "dropout": 0.0, "init": "default", "forget_bias": 1.0},
    "task": {"name": "forecast", "strategy": "direct"},
    "train": {"epochs": 1, "batch_size": 16, "optimizer": {"name": "adam", "lr": 1e-3},
              "scheduler": {"name": "step", "step_size": 1}, "clip_grad_norm": 1.0,
              "early_stopping": {"monitor": "val_loss", "patience": 2},
              "checkpoint": {"every_n_steps": 5, "keep": 1}, "nan_policy": "stop",
              "threads": 1, "device": "cpu"},
}


def shipped_specs() -> list[dict[str, Any]]:
    """Every spec in ``specs/`` that parses to a mapping (validated or not: fuzz bases)."""
    out = []
    for path in sorted((REPO / "specs").glob("*.yaml")):
        try:
            raw, _ = load_yaml_file(path)
        except Exception:  # a broken shipped spec is another test's business
            continue
        if isinstance(raw, dict):
            out.append(raw)
    return out


BASES = [PROBE, *shipped_specs()]

#: keys whose values are sizes or counts somewhere in some spec
SIZE_KEYS = {"hidden_size", "num_layers", "window", "horizon", "batch_size", "epochs",
             "embedding", "seq_len", "n", "length", "max_len", "min_len", "max_length",
             "patience", "truncate", "every_n_steps", "keep", "threads", "num_workers",
             "limit_train_batches", "seed", "step_size", "max_chars", "max_vocab",
             "decoder_hidden_size", "n_train", "n_val", "n_test", "stride", "max_digits",
             "min_freq", "samples", "sample_length", "max_value"}
#: where component names live
NAME_PATHS = [("data", "dataset"), ("model", "topology"), ("model", "cell"),
              ("model", "cell", "name"), ("task",), ("task", "name"), ("train", "optimizer"), ("train", "optimizer", "name"),
              ("train", "scheduler"), ("train", "scheduler", "name")]

EXTREME_NUMBERS = [-(2 ** 63), -(10 ** 12), -1, 0, 1, 2 ** 31, 2 ** 63, 10 ** 30, -0.5, 0.5,
                   1.5, 1e308, -1e308, float("inf"), float("-inf"), float("nan"), True, "10",
                   "-1", "1e3"]
ODD_STRINGS = ["", " ", "\t", "none", "null", "~", "auto", "NaN", "0x10", "builtin:",
               "builtin:nope", "../../../../etc/passwd", "/dev/null", "C:\\x.csv", "\x00", "é", "🙂" * 3,
               "a" * 300, "os.system", "__import__('os')", "seqforge.cells.lstm:LSTMCell",
               "lambda: 0", "${HOME}", "{{x}}"]

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.sampled_from(EXTREME_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.sampled_from(ODD_STRINGS),
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=5)
odd_keys = st.one_of(st.integers(-3, 3), st.none(), st.booleans(), st.floats(allow_nan=False),
                     st.tuples(st.integers(0, 2)), st.text(max_size=1))


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in nested dicts/lists (the root excluded)."""
    out = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return out
    for k, v in items:
        out.append(prefix + (k,))
        out.extend(_paths(v, prefix + (k,)))
    return out


def _get(node: Any, path: tuple) -> Any:
    for k in path:
        node = node[k]
    return node


def _exists(node: Any, path: tuple) -> bool:
    try:
        _get(node, path)
        return True
    except (KeyError, IndexError, TypeError):
        return False


def _typo(name: str, i: int) -> str:
    if not name:
        return "x"
    i %= len(name)
    return name[:i] + name[i + 1:] + name[i]  # move one letter to the end


OPS = ["junk", "delete", "unknown_key", "bad_name", "size", "drop_section", "wrap", "retype",
       "odd_key"]


def _pick(draw, items: list) -> Any:
    """``draw(st.sampled_from(items))`` for a list that changes per example — an index
    draw is much cheaper than building a new strategy each time."""
    return items[draw(st.integers(0, len(items) - 1))]


@st.composite
def malformed_specs(draw, *, odd_keys_allowed: bool = True) -> Any:
    """A spec (usually a dict) with 1–3 mutations — or, now and then, pure junk."""
    if draw(st.integers(0, 19)) == 0:
        return draw(junk)
    spec = copy.deepcopy(_pick(draw, BASES))
    ops = OPS if odd_keys_allowed else [o for o in OPS if o != "odd_key"]
    for _ in range(draw(st.integers(1, 3))):
        op = _pick(draw, ops)
        paths = _paths(spec)
        if not isinstance(spec, dict):
            break
        if op == "drop_section" and spec:
            del spec[_pick(draw, sorted(spec, key=str))]
        elif op == "bad_name":
            where = [p for p in NAME_PATHS if _exists(spec, p)
                     and isinstance(_get(spec, p), str) and len(p) > 0]
            if where:
                p = _pick(draw, where)
                old = _get(spec, p)
                new = draw(st.one_of(st.sampled_from(ODD_STRINGS), st.text(max_size=12),
                                     st.integers(0, 20).map(lambda i: _typo(old, i)),
                                     st.just(old.upper()), st.just(old + "_v2")))
                _get(spec, p[:-1])[p[-1]] = new
        elif not paths:
            continue
        else:
            p = _pick(draw, paths)
            parent, key = _get(spec, p[:-1]), p[-1]
            if op == "junk":
                parent[key] = draw(junk)
            elif op == "delete":
                del parent[key]
            elif op == "size":
                sized = [q for q in paths if q and q[-1] in SIZE_KEYS]
                if sized:
                    q = _pick(draw, sized)
                    _get(spec, q[:-1])[q[-1]] = draw(st.sampled_from(EXTREME_NUMBERS))
            elif op == "wrap":
                v = parent[key]
                parent[key] = _pick(draw, [[v], {"value": v}, {"name": v}])
            elif op == "retype":
                v = parent[key]
                parent[key] = _pick(draw, [str(v), [v], None, True, 1.0])
            elif op == "unknown_key":
                target = _get(spec, p[:-1])
                if isinstance(target, dict):
                    near = _typo(str(key), draw(st.integers(0, 9)))
                    new_key = draw(st.one_of(st.just(near), st.text(min_size=1, max_size=8)))
                    target[new_key] = draw(junk)
            elif op == "odd_key":
                target = _get(spec, p[:-1])
                if isinstance(target, dict):
                    target[draw(odd_keys)] = draw(junk)
    return spec


# -- YAML text damage ------------------------------------------------------------------------

STRAY = list(":-[]{}&*!|>'\"#%@`,?\t\n ") + ["!!python/object/apply:os.getcwd []", "&a", "*a",
                                             "*nope", "<<: *a", "!!binary", "!!set", "---", "..."]


@st.composite
def damaged_text(draw, text: str) -> bytes:
    """The YAML text of a spec with 0–2 kinds of damage; sometimes not even UTF-8."""
    lines = text.splitlines(keepends=True) or [""]
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["insert", "cut", "dup", "indent", "truncate", "tag"]))
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        line = lines[i]
        if kind == "insert":
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + draw(st.sampled_from(STRAY)) + line[at:]
        elif kind == "cut":
            del lines[i]
            lines = lines or [""]
        elif kind == "dup":
            lines.insert(i, line)
        elif kind == "indent":
            lines[i] = draw(st.sampled_from([" ", "   ", "\t", "        "])) + line
        elif kind == "truncate":
            lines = lines[:i + 1]
            lines[-1] = line[:draw(st.integers(0, len(line)))]
        elif kind == "tag" and ":" in line:
            k, _, _ = line.partition(":")
            lines[i] = f"{k}: !!python/object/apply:os.getcwd []\n"
    data = "".join(lines).encode("utf-8")
    if draw(st.integers(0, 29)) == 0:
        data = data[:len(data) // 2] + b"\xff\xfe\x80" + data[len(data) // 2:]
    return data


overrides = st.lists(st.one_of(
    st.text(max_size=30),
    st.tuples(st.sampled_from(["train.epochs", "model.hidden_size", "data.window", "model",
                               "train", "train.optimizer.lr", "model.cell.name", "task",
                               "data.dataset", "x.y.z", "model.cell.dropout", "name", "seed"]),
              st.sampled_from(["", "1", "-1", "0", "abc", "[1, 2]", "{a: 1}", "null", "1e400",
                               "!!python/name:os.system", "&a [*a]", "'unclosed", "[",
                               "gru", "10000000000000000000000"]),
              ).map(lambda kv: f"{kv[0]}={kv[1]}"),
), max_size=3)


def fuzz_settings(examples: int) -> settings:
    """Settings for one fuzz property: ``examples`` under the ``ci`` profile, scaled up by
    the heavier profiles; no deadline (a shared CI machine's timings are noise)."""
    scale = {"ci": 1, "dev": 3, "thorough": 10}.get(current().name, 1)
    return settings(max_examples=examples * scale, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much], print_blob=True)
