"""What a dataset tells the model and the task: :class:`DataInfo` and its typed facets.

``DataInfo`` has the few fields every model needs (what ``x`` is, its feature count or
vocabulary, the target vocabulary) and a set of *facets*: typed, documented records of
what a family of tasks needs — :class:`~seqforge.data.facets.Series` for forecasting,
:class:`~seqforge.data.facets.Classes` for classification, and so on. A task declares the
facets it requires (``Task.requires``), a dataset the facets it provides
(``DatasetSource.facets``), so ``seqforge validate`` matches them from the spec alone.

A facet is a pydantic model. Its fields are saved with the run (``to_state``) unless they
are marked ``Field(exclude=True)`` — those hold the loaded data itself (a series' dates,
the values plotted), which a run directory does not carry. Fitted transforms use the
:data:`VocabField` / :data:`ScalerField` types so they round-trip through JSON.

Writing a facet for a plugin::

    class Intervals(Facet):
        name: ClassVar[str] = "intervals"
        item_keys: ClassVar[tuple[str, ...]] = ("x", "y", "lower", "upper")
        width: int
        edges: list[float]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator

from ..errors import RunDirError, SpecError
from ..kinds import Shape
from .transforms.scalers import Scaler
from .transforms.vocab import Vocab


def _vocab_in(v: Any) -> Vocab:
    return v if isinstance(v, Vocab) else Vocab.from_dict(v)


def _scaler_in(v: Any) -> Scaler:
    return v if isinstance(v, Scaler) else Scaler.from_state(v)


#: a :class:`Vocab` field, saved as ``{"specials": [...], "tokens": [...]}``
VocabField = Annotated[Vocab, PlainValidator(_vocab_in), PlainSerializer(lambda v: v.to_dict())]
#: a fitted :class:`Scaler` field, saved as its ``state_dict()``
ScalerField = Annotated[Scaler, PlainValidator(_scaler_in),
                        PlainSerializer(lambda s: s.state_dict())]

#: every facet class by its name (filled as facet classes are defined, plugins' included)
FACETS: dict[str, type[Facet]] = {}


class Facet(BaseModel):
    """A typed part of :class:`DataInfo` that some tasks require. Subclasses set ``name``."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    #: unique name, used in messages and in saved runs
    name: ClassVar[str] = ""
    #: one line for messages: what a dataset with this facet has
    summary: ClassVar[str] = ""
    #: keys every item of a dataset with this facet carries (its tasks read them)
    item_keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if not name:
            return
        other = FACETS.get(name)
        if other is not None and other.__qualname__ != cls.__qualname__:
            raise TypeError(f"facet name {name!r} is taken by {other.__module__}.{other.__qualname__}")
        FACETS[name] = cls

    def to_state(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


F = TypeVar("F", bound=Facet)


@dataclass
class DataInfo:
    """What the model reads and what the task gets to know about the data."""

    #: what x is per example: SEQUENCE ((T, F) floats or (T,) token ids) or VECTOR ((F,))
    input: Shape
    #: float features per step (or vector size); 0 for token input
    n_features: int = 0
    #: input vocabulary when x holds token ids
    vocab: Vocab | None = None
    #: output vocabulary when targets are tokens (language models, seq2seq, spelling)
    target_vocab: Vocab | None = None
    #: regression values per output step (or per example)
    n_targets: int | None = None
    #: steps of every target sequence when they are all the same length (one-to-many)
    target_length: int | None = None
    facets: dict[str, Facet] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.input = Shape(self.input)

    # -- facets ----------------------------------------------------------------------------
    def with_facets(self, *facets: Facet) -> DataInfo:
        for f in facets:
            self.facets[f.name] = f
        return self

    def has(self, kind: type[Facet]) -> bool:
        return isinstance(self.facets.get(kind.name), kind)

    def facet(self, kind: type[F], *, needed_by: str = "this task") -> F:
        """The facet of this kind; a SpecError naming it when the dataset has none."""
        found = self.facets.get(kind.name)
        if not isinstance(found, kind):
            have = ", ".join(sorted(self.facets)) or "none"
            raise SpecError(f"{needed_by} needs a dataset with the {kind.name!r} facet "
                            f"({kind.summary}); this dataset provides: {have}", path="task")
        return found

    # -- saving with a run -----------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """JSON-able: everything needed to build the model and read new inputs again."""
        return {
            "input": self.input.value, "n_features": self.n_features,
            "vocab": self.vocab.to_dict() if self.vocab is not None else None,
            "target_vocab": self.target_vocab.to_dict() if self.target_vocab is not None else None,
            "n_targets": self.n_targets, "target_length": self.target_length,
            "facets": {name: f.to_state() for name, f in self.facets.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], *, where: str = "run") -> DataInfo:
        if not isinstance(state, dict) or "input" not in state:
            raise RunDirError(f"{where}: the saved data description is missing or malformed")
        facets: dict[str, Facet] = {}
        for name, fstate in (state.get("facets") or {}).items():
            kind = FACETS.get(name)
            if kind is None:
                raise RunDirError(f"{where}: the run's data has a {name!r} facet that no loaded "
                                  "module defines — install the plugin that trained it")
            try:
                facets[name] = kind.model_validate(fstate)
            except Exception as exc:  # pydantic ValidationError or a transform's DataError
                raise RunDirError(f"{where}: the saved {name!r} facet is malformed "
                                  f"({str(exc).splitlines()[0]})") from None
        return cls(input=Shape(state["input"]), n_features=int(state.get("n_features") or 0),
                   vocab=Vocab.from_dict(state["vocab"]) if state.get("vocab") else None,
                   target_vocab=(Vocab.from_dict(state["target_vocab"])
                                 if state.get("target_vocab") else None),
                   n_targets=state.get("n_targets"), target_length=state.get("target_length"),
                   facets=facets)


__all__ = ["DataInfo", "Facet", "FACETS", "VocabField", "ScalerField"]
