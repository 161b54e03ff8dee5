"""The windowing keys every forecasting dataset shares (``timeseries_csv``, plugins').

Defaults were chosen by measurement (``bench/bench_defaults.py`` on ten real series,
numbers in the README): ``scaler: standard`` + ``window_norm: standard`` with residual
targets — each window is seen relative to its own mean and spread and the model predicts
the change from the last value, so test levels outside the training range do not matter
(a trending price no longer loses to persistence by multiples: geometric mean 0.79× of
persistence's RMSE over the ten series, worst 1.01×; min-max scaling of levels, the old
default, was 1.67× and worst 3.5×). A plain series needs no transform keys.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..base import DataParams
from ..transforms.calendar import CalendarFeature
from ..transforms.target import TransformSpec
from ..transforms.window_norm import WindowNorm

#: measured defaults (see the module docstring)
DEFAULT_SCALER = "standard"
DEFAULT_WINDOW_NORM = "standard"


class WindowingParams(DataParams):
    window: int = Field(60, ge=1, le=100_000, description="input steps per example")
    horizon: int = Field(1, ge=1, le=10_000, description="future steps to predict")
    scaler: Literal["minmax", "standard", "none"] = Field(
        DEFAULT_SCALER, description="fitted on the training rows only (after data.transform)")
    transform: list[TransformSpec] = Field(
        default_factory=list, description="target transforms, in order: log, diff "
        "({name: diff, order: 2, lag: 12}), log_return, pct_change — inverted exactly for "
        "metrics, plots and predictions")
    window_norm: WindowNorm = Field(
        DEFAULT_WINDOW_NORM, description="per-window normalisation: none, last (changes from "
        "the window's last value), mean, standard (RevIN: mean and std of each window)")
    residual: bool | Literal["auto"] = Field(
        "auto", description="targets are changes from the last observed value; auto: yes with "
                            "window_norm mean or standard (implied by last), no with none")
    season: int | Literal["auto"] = Field(
        "auto", description="season length for seasonal naive and MASE; auto: from the date "
                            "frequency (5 business days, 7 days, 12 months …), 1 without dates")
    calendar: list[CalendarFeature] = Field(
        default_factory=list, description="known-future inputs from the dates of the predicted "
                                          "rows: day_of_week, month, day_of_year, hour")
    units: dict[str, str] = Field(
        default_factory=dict, description="unit of each column for plot axes, e.g. {Open: $}; "
                                          "builtin:goog's prices are in $ without it")
    val: float = Field(0.1, ge=0, lt=1, description="fraction of rows (by time) for validation")
    test: float = Field(0.2, ge=0, lt=1, description="last fraction of rows for testing")
    fold: list[int] | None = Field(
        None, description="[k, K] (set by seqforge backtest --retrain): test on the k-th of K "
                          "blocks of the test part, train on the rows before it")

    @field_validator("transform", "calendar", mode="before")
    @classmethod
    def _listify_names(cls, v):
        return [v] if isinstance(v, (str, dict)) else v

    @field_validator("season")
    @classmethod
    def _season(cls, v):
        if isinstance(v, int) and v < 1:
            raise ValueError(f"season must be at least 1 (1: no season), got {v}")
        return v

    @field_validator("calendar")
    @classmethod
    def _unique(cls, v):
        if len(set(v)) != len(v):
            raise ValueError(f"a calendar feature is listed twice: {v}")
        return v

    def residual_targets(self) -> bool:
        if self.residual == "auto":
            return self.window_norm in ("mean", "standard")
        return bool(self.residual)

    @model_validator(mode="after")
    def _fold(self):
        if self.fold is not None:
            if len(self.fold) != 2 or not (0 <= self.fold[0] < self.fold[1]):
                raise ValueError(f"fold must be [k, K] with 0 <= k < K, got {self.fold}")
            if self.test <= 0:
                raise ValueError("fold splits the test part: set test > 0")
        if self.val + self.test >= 1:
            raise ValueError(f"val {self.val} + test {self.test} leaves no rows for training")
        return self


__all__ = ["WindowingParams", "DEFAULT_SCALER", "DEFAULT_WINDOW_NORM"]


class CsvParams(DataParams):
    """How the CSV file is written (pandas' read_csv options of the same names)."""

    delimiter: str = Field("auto", description="auto (sniffed: , ; tab |) or one character")
    encoding: str = Field("utf-8", description="text encoding: utf-8, latin-1, cp1252, utf-16 …")
    thousands: str | None = Field(None, description="thousands separator in numbers, e.g. ','")
    decimal: str = Field(".", description="decimal mark: '.' or ','")
    date_format: str | None = Field(
        None, description="strptime format of the dates, e.g. '%d/%m/%Y'; null: inferred "
                          "(an error names the candidates when two read the file differently)")

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, v):
        if v != "auto" and (len(v) != 1 or v in "\"\r\n"):
            raise ValueError(f"delimiter must be 'auto' or one character (',', ';', '\\t', '|'), "
                             f"got {v!r}")
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v):
        import codecs

        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown encoding {v!r} (e.g. utf-8, latin-1, cp1252, "
                             "utf-16)") from None
        return v

    @field_validator("thousands", "decimal")
    @classmethod
    def _mark(cls, v):
        if v is not None and (len(v) != 1 or v.isdigit() or v in "+-eE\r\n"):
            raise ValueError(f"expected one separator character such as ',' or '.', got {v!r}")
        return v

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, v):
        if v is not None and "%" not in v and v not in ("ISO8601", "quarter"):
            raise ValueError(f"date_format {v!r} has no strptime directive (e.g. '%Y-%m-%d', "
                             "'%d/%m/%Y', 'ISO8601', 'quarter')")
        return v

    @model_validator(mode="after")
    def _marks_differ(self):
        marks = {"delimiter": self.delimiter, "thousands": self.thousands,
                 "decimal": self.decimal}
        seen: dict[str, str] = {}
        for key, mark in marks.items():
            if mark is None or mark == "auto":
                continue
            if mark in seen:
                raise ValueError(f"{seen[mark]} and {key} are both {mark!r}: a number could "
                                 "not be told from the next cell")
            seen[mark] = key
        return self

    def csv_options(self):
        from ..io.csv_options import CsvOptions

        return CsvOptions(delimiter=self.delimiter, encoding=self.encoding,
                          thousands=self.thousands, decimal=self.decimal,
                          date_format=self.date_format)


__all__ += ["CsvParams"]
