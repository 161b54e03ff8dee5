"""The built-in facets of :class:`~seqforge.data.info.DataInfo`, one per family of tasks.

Each says what a dataset knows that its tasks need. Fields marked ``exclude=True`` are
the loaded data itself (for plots and baselines while the data is at hand); everything
else is saved with a run, so a run directory predicts on new data without the training
file.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from .info import Facet, ScalerField


class Series(Facet):
    """Windows over a numeric series: ``window`` rows of ``inputs`` → ``horizon`` rows of
    ``targets`` (required by ``forecast``)."""

    name: ClassVar[str] = "series"
    summary: ClassVar[str] = "windows over a numeric series with target columns"
    #: built by :func:`seqforge.data.forecasting.prepare.series_splits`: x (window, inputs)
    #: normalised; y (horizon·targets,) in model units; y_loc/y_scale back to scaled units;
    #: hist (history, targets) and y_raw the raw values (baselines, metrics in the data's
    #: units); t the row of the first target (see that module for every key)
    item_keys: ClassVar[tuple[str, ...]] = ("x", "y", "y_loc", "y_scale", "hist", "y_raw", "t")

    window: int
    horizon: int
    #: the columns the model reads, in the scaler's order: inputs, then targets not among
    #: them, then future columns not among either
    columns: list[str]
    inputs: list[str]
    targets: list[str]
    #: fitted on the training rows of ``columns`` only
    scaler: ScalerField
    #: date of every row of the loaded series (None without a date column)
    dates: Any = Field(None, exclude=True)
    # -- forecasting options (#11); defaults keep runs saved before them loadable ----------
    #: target transforms applied before the scaler (``TransformSpec`` dumps), stateless
    transforms: list[dict[str, Any]] = Field(default_factory=list)
    #: per-window normalisation of inputs and targets (none, last, mean, standard)
    window_norm: str = "none"
    #: targets are changes from the window's last value
    residual: bool = False
    #: raw target rows each item carries before its forecast origin (baselines, inverses)
    history: int = 0
    #: season length (1: none) and row frequency (B, D, W, M, Q, Y or "<k>s")
    season: int = 1
    freq: str | None = None
    #: calendar features of the predicted rows, appended to the inputs
    calendar: list[str] = Field(default_factory=list)
    #: known-future covariate columns (also in ``columns``): their values for the predicted
    #: rows are appended to the inputs, after the calendar features
    future: list[str] = Field(default_factory=list)
    #: in-sample MAE of the (seasonal) naive forecast, per series then per target (MASE)
    mase_scale: list[list[float]] = Field(default_factory=list)
    #: long format: the column naming each series, the ids, one fitted scaler per series
    id_column: str | None = None
    series_ids: list[str] = Field(default_factory=list)
    scalers: list[ScalerField] = Field(default_factory=list)
    #: the loaded series (raw target values and dates per series), for plots
    loaded: Any = Field(None, exclude=True)
    #: unit of each column ("$", "ppm" …) for plot axes and reports; absent: unknown
    units: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _history(self):
        # an item carries at least its own window of raw history (the baselines read it)
        self.history = max(self.history, self.window)
        return self

    @property
    def input_idx(self) -> list[int]:
        return [self.columns.index(c) for c in self.inputs]

    @property
    def target_idx(self) -> list[int]:
        return [self.columns.index(c) for c in self.targets]

    def label(self, column: str) -> str:
        """``Open ($)``, or the bare name when the unit is not known."""
        unit = self.units.get(column)
        return f"{column} ({unit})" if unit else column

    def scaler_of(self, series: int = 0):
        """The scaler fitted on series ``series`` (one per series in long format)."""
        return self.scalers[series] if self.scalers else self.scaler


class Classes(Facet):
    """One label per example out of ``names`` (required by ``classify``)."""

    name: ClassVar[str] = "classes"
    summary: ClassVar[str] = "a class label per example"
    #: y: a 0-d integer tensor, the index into ``names``
    item_keys: ClassVar[tuple[str, ...]] = ("x", "y")

    #: class index → label, as reported in predictions
    names: list[str]
    #: examples of each class in the training split (majority baseline, class weights)
    train_counts: list[int]


class Channels(Facet):
    """Numeric series with named channels, read from files (``labelled_series``): what a
    new file must have to be scored, and how its values are normalised."""

    name: ClassVar[str] = "channels"
    summary: ClassVar[str] = "numeric series with named channels"

    names: list[str]
    #: none | series (each series and channel z-normalised on its own) | global (a
    #: per-channel scaler fitted on the training series)
    normalize: str = "none"
    scaler: ScalerField | None = None


class Tokens(Facet):
    """Inputs are text cut into tokens at ``level`` (ids in ``DataInfo.vocab``)."""

    name: ClassVar[str] = "tokens"
    summary: ClassVar[str] = "text read as character or word tokens"
    item_keys: ClassVar[tuple[str, ...]] = ("x",)

    level: Literal["char", "word"]


class TokenStream(Facet):
    """A corpus laid out as contiguous streams, next-token targets at every step
    (required by ``language_model``)."""

    name: ClassVar[str] = "token_stream"
    summary: ClassVar[str] = "a token stream with next-token targets"
    #: x (T,) token ids, y (T,) the next token at every step
    item_keys: ClassVar[tuple[str, ...]] = ("x", "y")

    seq_len: int
    #: characters of the corpus read
    characters: int = 0
    #: how often each target id occurs in the training part (the unigram baseline)
    unigram_counts: list[int]
    #: share of <unk> targets per split
    unk_rate: dict[str, float] = Field(default_factory=dict)
    #: starts of held-out lines, for the samples written after training
    sample_prompts: list[str] = Field(default_factory=list)


class Pairs(Facet):
    """(source, target) token sequences for an encoder–decoder (required by ``seq2seq``)."""

    name: ClassVar[str] = "pairs"
    summary: ClassVar[str] = "source and target token sequences"
    #: x (S,) source ids, y (T,) target ids ending in <eos>, src / tgt the raw strings
    item_keys: ClassVar[tuple[str, ...]] = ("x", "y", "src", "tgt")

    max_source_len: int
    max_target_len: int
    #: held-out pairs dropped because their source occurs in an earlier split
    dropped_overlap: dict[str, int] = Field(default_factory=dict)


class AnomalyWindows(Facet):
    """Windows over one series, split into a normal prefix (train, val) and the searched
    rest (required by ``anomaly``)."""

    name: ClassVar[str] = "anomaly_windows"
    summary: ClassVar[str] = "windows over a series with a normal prefix"
    #: x (window, F) and y = x (rebuilt), start the window's first point in the series
    item_keys: ClassVar[tuple[str, ...]] = ("x", "y", "start")

    window: int
    #: each window minus its own mean
    center: bool
    scaler: ScalerField
    value_column: str
    #: the loaded series (N,) raw and scaled, its 0/1 labels and dates, and the point
    #: ranges [lo, hi) of train / val / test
    values: Any = Field(None, exclude=True)
    scaled: Any = Field(None, exclude=True)
    labels: Any = Field(None, exclude=True)
    dates: Any = Field(None, exclude=True)
    parts: dict[str, tuple[int, int]] = Field(default_factory=dict, exclude=True)


class Generation(Facet):
    """One input vector → a whole target sequence (required by ``generate_sequence``).

    When the dataset has a model-free baseline of its own, its items carry its
    prediction under ``baseline`` and ``baseline_name`` says what it is."""

    name: ClassVar[str] = "generation"
    summary: ClassVar[str] = "an input vector and a target sequence"
    #: x (F,), y (T, F) values or (T,) token ids; also every ``input_columns`` key, and
    #: ``baseline`` (its prediction, like y) when ``baseline_name`` is set
    item_keys: ClassVar[tuple[str, ...]] = ("x", "y")

    #: item columns that describe each request (shown beside predictions)
    input_columns: list[str] = Field(default_factory=list)
    #: a column naming each example's class, for plots (None: no classes)
    label_column: str | None = None
    baseline_name: str | None = None
    #: how target tokens join into text
    joiner: str = " "


__all__ = ["Series", "Classes", "Channels", "Tokens", "TokenStream", "Pairs", "AnomalyWindows", "Generation"]


class Regression(Facet):
    """Numeric targets per example, one value per name in ``targets`` (required by
    ``regress``)."""

    name: ClassVar[str] = "regression"
    summary: ClassVar[str] = "numeric targets per example"
    #: y: (len(targets),) floats
    item_keys: ClassVar[tuple[str, ...]] = ("x", "y")

    #: what each target value is, as reported in predictions
    targets: list[str]


__all__ += ["Regression"]
