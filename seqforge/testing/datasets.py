"""The dataset contract as properties, and :func:`check_dataset` to run them.

A dataset is checked *loaded*: the subject loads it once (with ``params``, in
``base_dir``, with ``seed``) and every property reads that load, loading again where the
property is about loading. The properties:

``declares``    ``Params`` forbids unknown keys; ``provides`` is a shape kind; ``facets``
                are :class:`~seqforge.data.info.Facet` classes.
``facets``      ``load()`` returns a DataBundle whose ``info`` carries exactly the declared
                facets, with ``info.input == provides``, a non-empty train split, and the
                built-in facets consistent (``Classes.train_counts`` counts train …).
``items``       drawn items of every split: ``x`` as ``provides`` and the DataInfo say
                (feature count, token ids within the vocabulary), a valid ``y``, every
                facet's ``item_keys`` and shapes; a drawn batch collates.
``splits``      no two splits share an example key (``example_keys``: series rows of the
                targets, a text, a pair's source …; not applicable where it returns None).
``state``       ``info.to_state()`` is plain JSON and comes back equal through
                ``DataInfo.from_state`` — from JSON and from a real checkpoint file
                (``torch.load(weights_only=True)``).
``saved``       loading again with ``saved=`` the round-tripped info gives the same items
                and state; with other data (``refit`` params, or another seed) the fitted
                transforms (vocabularies, scalers) are the saved ones, not refitted.
``read_inputs`` ``read_inputs`` of an example table (``example_inputs``, or ``inputs=``)
                returns well-formed items — the same through a round-tripped info — and
                with ``targets=True`` items with ``y`` (or a DataError saying why not).
``fingerprint`` two loads with one seed — one from the params as ``spec.resolved.yaml``
                writes them back, every key set — give the same non-empty fingerprint
                and items.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
from hypothesis import strategies as st

from ..data.base import DataBundle, DataParams, DatasetSource
from ..data.info import DataInfo, Facet
from ..data.io.table import as_table
from ..engine.checkpoint import load_checkpoint, save_checkpoint
from ..errors import DataError
from ..kinds import Shape
from ..spec.fit import declared
from .items import (check_facets, check_item, fail, item_difference, json_round_trip,
                    transforms_of)
from .runner import NotApplicable, Property, check_all, resolve, run_property

SPLITS = ("train", "val", "test")
#: items compared per split when two loads are compared (spread over the split)
COMPARED = 64


@dataclass
class DatasetSubject:
    """A dataset class under test with the configuration it is loaded with; loads once."""

    cls: type[DatasetSource]
    name: str
    params: DataParams
    base_dir: Path
    seed: int = 0
    #: what read_inputs reads: None asks the dataset (``example_inputs``)
    inputs: Any = None
    #: params overrides under which refitting gives other transforms (the ``saved`` check)
    refit: dict[str, Any] | None = None
    _bundle: DataBundle | None = field(default=None, repr=False)

    def source(self, *, params: DataParams | None = None, seed: int | None = None,
               saved: DataInfo | None = None) -> DatasetSource:
        return self.cls(params or self.params, base_dir=self.base_dir,
                        seed=self.seed if seed is None else seed, saved=saved)

    def load(self, **kw: Any) -> DataBundle:
        bundle = self.source(**kw).load()
        if not isinstance(bundle, DataBundle):
            fail(f"load() returned {type(bundle).__name__}, not a DataBundle")
        return bundle

    def bundle(self) -> DataBundle:
        """The first load, kept for every property that only reads it."""
        if self._bundle is None:
            self._bundle = self.load()
        return self._bundle

    @property
    def provides(self) -> Shape:
        return Shape(declared(self.cls, "provides", self.params))

    def declared_facets(self) -> tuple[type[Facet], ...]:
        return tuple(declared(self.cls, "facets", self.params) or ())


def dataset_subject(dataset: type[DatasetSource] | str, *, params: Any = None,
                    base_dir: str | Path | None = None, files: dict[str, Any] | None = None,
                    seed: int = 0, inputs: Any = None,
                    refit: dict[str, Any] | None = None) -> DatasetSubject:
    """A subject to check. ``files``: ``{relative path: str or bytes}`` written into
    ``base_dir`` (a fresh temporary folder when ``base_dir`` is None)."""
    cls, name = resolve("dataset", dataset)
    if not (isinstance(cls, type) and issubclass(cls, DatasetSource)):
        raise TypeError(f"{name}: expected a seqforge.data.base.DatasetSource subclass, "
                        f"got {cls!r}")
    try:
        p = params if isinstance(params, cls.Params) else cls.Params.model_validate(params or {})
        if refit:
            cls.Params.model_validate({**p.model_dump(exclude_unset=True), **refit})
    except pydantic.ValidationError as exc:
        raise ValueError(f"{name}: params do not validate against {cls.Params.__name__}: "
                         f"{exc}") from None
    tmp = None
    if base_dir is None:
        base_dir = tmp = tempfile.mkdtemp(prefix="seqforge-contract-")
    for rel, content in (files or {}).items():
        path = Path(base_dir) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    subject = DatasetSubject(cls, name, p, Path(base_dir), seed, inputs, refit)
    if tmp is not None:  # the folder goes with the subject
        weakref.finalize(subject, shutil.rmtree, tmp, ignore_errors=True)
    return subject


def splits_of(bundle: DataBundle) -> dict[str, Any]:
    """The non-empty splits, by name."""
    return {n: ds for n in SPLITS if (ds := bundle.split(n)) is not None and len(ds)}


def _spread(n: int, k: int = COMPARED) -> list[int]:
    return sorted({(i * (n - 1)) // max(k - 1, 1) for i in range(min(n, k))}) if n else []


def compare_loads(a: DataBundle, b: DataBundle, what: str) -> None:
    """Same split sizes, the same items (a spread of them) in every split."""
    for name in SPLITS:
        da, db = a.split(name), b.split(name)
        na, nb = len(da) if da is not None else 0, len(db) if db is not None else 0
        if na != nb:
            fail(f"{what}: the {name} split has {nb} examples, not {na}")
        for i in _spread(na):
            diff = item_difference(da[i], db[i])
            if diff:
                fail(f"{what}: {name} item {i}: {diff}")


# -- properties -----------------------------------------------------------------------------------

def _declares(s: DatasetSubject, data) -> None:
    P = s.cls.Params
    if not (isinstance(P, type) and issubclass(P, DataParams)):
        fail(f"{s.name}.Params must subclass seqforge.data.base.DataParams")
    try:
        P.model_validate({**s.params.model_dump(), "surely_not_a_data_parameter": 1})
    except pydantic.ValidationError:
        pass
    else:
        fail(f"{s.name}.Params accepted an unknown key (it must forbid them: extra='forbid')")
    try:
        s.provides
    except ValueError:
        fail(f"provides is {declared(s.cls, 'provides', s.params)!r}, not a seqforge.kinds.Shape")
    facets = s.declared_facets()
    bad = [f for f in facets if not (isinstance(f, type) and issubclass(f, Facet) and f.name)]
    if bad:
        fail(f"facets must be named Facet subclasses, got {bad}")
    if s.provides == Shape.ALIGNED_SEQUENCE:
        fail("provides is what x is per example: sequence or vector")


def _facets(s: DatasetSubject, data) -> None:
    b = s.bundle()
    info = b.info
    if not isinstance(info, DataInfo):
        fail(f"bundle.info is {type(info).__name__}, not a DataInfo")
    if info.input != s.provides:
        fail(f"info.input is {info.input!r} but the class provides {s.provides!r}")
    declared_ = {f.name: f for f in s.declared_facets()}
    for name, kind in declared_.items():
        if not isinstance(info.facets.get(name), kind):
            fail(f"declares the {name!r} facet but info carries "
                 f"{type(info.facets.get(name)).__name__ if name in info.facets else 'none'}")
    extra = sorted(set(info.facets) - set(declared_))
    if extra:
        fail(f"info carries facets it does not declare ({', '.join(extra)}): spec validation "
             "matches tasks against the declared ones")
    if b.train is None or not len(b.train):
        fail("the training split is empty")
    if not callable(b.collate):
        fail("bundle.collate is not callable")
    check_facets(info, len(b.train))


def _items(s: DatasetSubject, data) -> None:
    b = s.bundle()
    splits = splits_of(b)
    name = data.draw(st.sampled_from(sorted(splits)), label="split")
    ds = splits[name]
    idx = data.draw(st.lists(st.integers(0, len(ds) - 1), min_size=1, max_size=min(6, len(ds))),
                    label="indices")
    items = [ds[i] for i in idx]
    for i, item in zip(idx, items):
        check_item(item, b.info, s.provides, f"{name} item {i}")
    batch = b.collate(items)
    if not isinstance(batch, dict) or batch.get("x") is None or batch["x"].shape[0] != len(items):
        fail(f"collating {len(items)} {name} items does not give a batch dict with x (B, …)")


def _splits(s: DatasetSubject, data) -> None:
    b = s.bundle()
    src = s.source()
    keys = {n: src.example_keys(b, n) for n in splits_of(b)}
    if any(k is None for k in keys.values()):
        raise NotApplicable("example_keys() returns None: the dataset cannot say what an "
                            "example is")
    if len(keys) < 2:
        raise NotApplicable("one split only")
    for n, k in keys.items():
        if not k:
            fail(f"example_keys gives no key for the non-empty {n} split")
    names = list(keys)
    for i, a in enumerate(names):
        for bname in names[i + 1:]:
            shared = keys[a] & keys[bname]
            if shared:
                shown = ", ".join(repr(k)[:40] for k in sorted(shared, key=repr)[:3])
                fail(f"the {a} and {bname} splits share {len(shared)} example keys "
                     f"(e.g. {shown})")


def _round_trips(info: DataInfo) -> tuple[dict, DataInfo]:
    state = info.to_state()
    back = DataInfo.from_state(json_round_trip(state, "info.to_state()"), where="JSON")
    if back.to_state() != state:
        fail("DataInfo.from_state(JSON of to_state()) gives another state: "
             + _state_difference(state, back.to_state()))
    return state, back


def _state(s: DatasetSubject, data) -> None:
    info = s.bundle().info
    state, back = _round_trips(info)
    if set(back.facets) != set(info.facets) or any(
            type(back.facets[k]) is not type(v) for k, v in info.facets.items()):
        fail("the facets do not come back as the same classes")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "last.pt"
        save_checkpoint(path, {"data_info": state})
        loaded = load_checkpoint(path)["data_info"]  # weights_only=True, as a run loads it
    if DataInfo.from_state(loaded, where=str(path)).to_state() != state:
        fail("the state read back from a checkpoint file differs: "
             + _state_difference(state, DataInfo.from_state(loaded).to_state()))


def _state_difference(a: dict, b: dict, path: str = "") -> str:
    for k in sorted(set(a) | set(b), key=str):
        if a.get(k) != b.get(k):
            if isinstance(a.get(k), dict) and isinstance(b.get(k), dict):
                return _state_difference(a[k], b[k], f"{path}{k}.")
            return f"{path}{k}: {repr(a.get(k))[:60]} vs {repr(b.get(k))[:60]}"
    return "(no difference found)"


def _saved(s: DatasetSubject, data) -> None:
    b = s.bundle()
    _, back = _round_trips(b.info)
    again = s.load(saved=back)
    compare_loads(b, again, "loaded again with saved=")
    if again.info.to_state() != b.info.to_state():
        fail("loaded again with saved=, the info differs: "
             + _state_difference(b.info.to_state(), again.info.to_state()))
    fitted = transforms_of(b.info)
    if not fitted:
        return  # nothing fitted, nothing to reuse
    other: dict[str, Any] = dict(seed=s.seed + 1)
    if s.refit:  # the params as given, with the refit keys changed
        given = s.params.model_dump(exclude_unset=True)
        other = dict(params=s.cls.Params.model_validate({**given, **s.refit}))
    refitted = transforms_of(s.load(**other).info)
    changed = sorted(k for k in fitted if refitted.get(k) != fitted[k])
    if not changed:
        if s.refit:
            fail(f"refit params {s.refit} leave every fitted transform as it was: choose params "
                 "that change the training data")
        return  # the other seed fits the same transforms: nothing tells reuse from refitting
    reused = transforms_of(s.load(**other, saved=back).info)
    kept = [k for k in changed if reused.get(k) != fitted[k]]
    if kept:
        fail(f"loading other data with saved= refits {', '.join(kept)} instead of reusing the "
             "saved ones (a trained model must read new data as it read its training data)")


def _read_inputs(s: DatasetSubject, data) -> None:
    b = s.bundle()
    src = s.source()
    table = s.inputs if s.inputs is not None else src.example_inputs(b)
    if table is None:
        raise NotApplicable("example_inputs() returns None and no inputs= were given")
    if not isinstance(table, (str, Path)):
        table = as_table(table)
    items = src.read_inputs(table, b.info)
    if not isinstance(items, list) or not items:
        fail(f"read_inputs returned {type(items).__name__} of no items; expected a list of dicts")
    for i, item in enumerate(items):
        check_item(item, b.info, s.provides, f"read_inputs item {i}", split=False)
    _, back = _round_trips(b.info)
    again = s.source().read_inputs(table, back)  # as a loaded run reads: a fresh source
    if len(again) != len(items):
        fail(f"through the round-tripped info read_inputs gives {len(again)} items, not "
             f"{len(items)}")
    for i, (a, c) in enumerate(zip(items, again)):
        diff = item_difference(a, c)
        if diff:
            fail(f"through the round-tripped info, read_inputs item {i} differs: {diff}")
    b.collate(items[:8])
    try:
        scored = src.read_inputs(table, b.info, targets=True)
    except DataError:
        return  # says why these inputs cannot be scored
    missing = [i for i, item in enumerate(scored) if "y" not in item]
    if missing:
        fail(f"read_inputs(targets=True) items {missing[:5]} have no y (raise a DataError "
             "naming what is missing instead)")


def _fingerprint(s: DatasetSubject, data) -> None:
    a = s.bundle()
    if not isinstance(a.fingerprint, str) or not a.fingerprint:
        fail(f"bundle.fingerprint is {a.fingerprint!r}: give a short hash of the data "
             "(seqforge.data.base.fingerprint)")
    # the params as a run directory writes them back (spec.resolved.yaml: every key set)
    written = s.cls.Params.model_validate(json_round_trip(s.params.model_dump(mode="json"),
                                                          "the params"))
    for what, c in (("a second load with the same seed", s.load()),
                    ("a load from the params as a run directory writes them",
                     s.load(params=written))):
        if a.fingerprint != c.fingerprint:
            fail(f"{what} gives fingerprint {c.fingerprint!r}, not {a.fingerprint!r}")
        compare_loads(a, c, what)


DATASET_PROPERTIES: dict[str, Property] = {p.name: p for p in (
    Property("declares", "Params forbid unknown keys; provides and facets are declared",
             _declares, once=True),
    Property("facets", "load() gives a DataBundle whose info carries the declared facets",
             _facets, once=True),
    Property("items", "items match provides, the DataInfo and every facet", _items),
    Property("splits", "no example key is in two splits", _splits, once=True),
    Property("state", "DataInfo state round-trips through JSON and a checkpoint", _state,
             once=True),
    Property("saved", "saved= reuses the fitted transforms", _saved, once=True),
    Property("read_inputs", "read_inputs of an example table gives well-formed items",
             _read_inputs, once=True),
    Property("fingerprint", "two loads (one from written-back params) give one fingerprint and "
             "the same items", _fingerprint, once=True),
)}


def run_dataset_property(dataset: Any, name: str, *, max_examples: int | None = None,
                         shrink: bool = True, **config: Any) -> None:
    """Run one dataset property (see :data:`DATASET_PROPERTIES`) on a dataset class, a
    registered name or a :class:`DatasetSubject` (``config``: as :func:`dataset_subject`)."""
    if name not in DATASET_PROPERTIES:
        raise ValueError(f"unknown dataset property {name!r}; known: "
                         f"{', '.join(DATASET_PROPERTIES)}")
    s = dataset if isinstance(dataset, DatasetSubject) else dataset_subject(dataset, **config)
    run_property(DATASET_PROPERTIES[name], s, f"dataset {s.name!r}", max_examples, shrink=shrink)


def check_dataset(dataset: Any, *, only=None, skip=(), max_examples: int | None = None,
                  shrink: bool = True, **config: Any) -> dict[str, str]:
    """Check every dataset property on ``dataset`` (a DatasetSource subclass, a registered
    name or a subject), loading it once. ``config``: ``params``, ``base_dir``, ``files``,
    ``seed``, ``inputs``, ``refit`` (see :func:`dataset_subject`). Returns ``{property:
    "passed" | "skipped: …"}``; raises one AssertionError listing every violation."""
    s = dataset if isinstance(dataset, DatasetSubject) else dataset_subject(dataset, **config)
    return check_all(DATASET_PROPERTIES, s, f"dataset {s.name!r}", only=only, skip=skip,
                     max_examples=max_examples, shrink=shrink)


__all__ = ["DATASET_PROPERTIES", "DatasetSubject", "dataset_subject", "check_dataset",
           "run_dataset_property", "splits_of"]
