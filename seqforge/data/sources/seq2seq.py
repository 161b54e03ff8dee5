"""``seq2seq``: (source string, target string) pairs for encoder–decoder models.

``source`` picks the pairs: a built-in generator from :mod:`seqforge.data.synthetic` —
``dates`` ("July 24, 2004" → "2004-07-24"), ``addition`` ("535+61" → "596"),
``reversal`` ("abcd" → "dcba") — seeded by the spec's seed, or a path (relative to the
spec) to a file of pairs: a ``.csv`` with a header naming the source and target columns,
or a ``.tsv``/``.txt`` with ``source<TAB>target`` on each line (like the Tatoeba/Anki
sentence-pair files).

Both sides are tokenised into characters with *separate* vocabularies built from the
training split. An item is ``x`` = source ids (S_i,), ``y`` = target ids + ``<eos>``
(T_i,), plus the raw strings ``src`` and ``tgt``; :func:`pad_collate` pads and adds
``lengths`` / ``y_lengths``.

Split: a file's rows are shuffled (seeded) first — generated pairs are already in random
order — then cut into train / val / test by fraction. Or from fixed files: ``train`` (a
synonym of ``source``) with ``val`` / ``test`` each a fraction of it or a pair file of its
own, read as ``seqforge evaluate RUN --data FILE`` reads one (the training vocabularies;
a source character never seen in training is an error naming the file and line). Either
way a val pair whose source also occurs in training, and a test pair whose source occurs
in training or validation, is dropped (counted in the ``Pairs`` facet's
``dropped_overlap``), so the metrics measure generalisation, not recall (nor the data
that picked the best epoch) — a val/test file that is the training file is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
from pydantic import Field, model_validator

from ...errors import DataError
from ...kinds import Shape
from ..base import DataBundle, DataInfo, DatasetSource, Inputs, TensorItems, fingerprint
from ..base import columns_of
from ..facets import Pairs, Tokens
from ..generators.synthetic import addition_pairs, date_pairs, reversal_pairs
from ..io.pairs import Pair, read_pairs_file, read_pairs_lines
from ..io.table import Table, as_table, optional_column, resolve_columns
from ..splits import Fraction, SplitFiles, split_by_fraction
from ..transforms.vocab import Vocab

GENERATORS = ("dates", "addition", "reversal")


class Seq2SeqParams(SplitFiles):
    source: str = Field("dates", description="dates | addition | reversal | path to a "
                                             "TSV/CSV file of source,target pairs")
    train: str | None = Field(None, description="the training pair file (a synonym of "
                                                "source, for specs with val/test files)")
    n: int = Field(10_000, ge=1, le=10_000_000, description="pairs to generate (generators only)")
    val: Union[Fraction, str] = Field(
        0.1, description="validation: a fraction of the pairs, or a pair file")
    test: Union[Fraction, str] = Field(
        0.1, description="test: a fraction of the pairs, or a pair file")
    max_digits: int = Field(3, ge=1, le=15, description="addition: longest operand in digits")
    min_len: int = Field(3, ge=1, le=10_000, description="reversal: shortest string")
    max_len: int = Field(8, ge=1, le=10_000, description="reversal: longest string")
    alphabet: str = Field("abcdefghij", min_length=1, description="reversal: letters drawn from")
    source_column: str = Field("source", description="CSV files: column of source texts")
    target_column: str = Field("target", description="CSV files: column of target texts")

    @model_validator(mode="after")
    def _train_is_source(self):
        # one key decides the training pairs; spec.resolved.yaml writes both back, equal
        if self.train is not None:
            if "source" in self.model_fields_set and self.source != self.train:
                raise ValueError(f"source {self.source!r} and train {self.train!r} both name "
                                 "the training pairs: give one of them")
            self.source = self.train
        return self


@contextmanager
def _at_key(key: str):
    """Tag DataErrors raised inside with the spec key that chose the data (for messages)."""
    try:
        yield
    except DataError as exc:
        if exc.path is None:
            exc.path = key
        raise


def encode_pair(src: str, tgt: str | None, src_vocab: Vocab, tgt_vocab: Vocab | None
                ) -> dict[str, Any]:
    """One item: ``x`` (S,) source ids, ``y`` (T,) target ids + <eos> (when tgt is given)."""
    item: dict[str, Any] = {"x": torch.tensor(src_vocab.encode(list(src)), dtype=torch.long),
                            "src": src}
    if tgt is not None and tgt_vocab is not None:
        item["y"] = torch.tensor(tgt_vocab.encode(list(tgt), add_eos=True), dtype=torch.long)
        item["tgt"] = tgt
    return item


def items_of(pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab) -> TensorItems:
    encoded = [encode_pair(s, t, src_vocab, tgt_vocab) for s, t in pairs]
    return TensorItems(x=[e["x"] for e in encoded], y=[e["y"] for e in encoded],
                       src=[s for s, _ in pairs], tgt=[t for _, t in pairs])


class Seq2SeqDataset(DatasetSource):
    """Source → target string pairs (dates, addition, reversal, or a file of pairs)."""

    Params = Seq2SeqParams
    provides = Shape.SEQUENCE
    facets = (Tokens, Pairs)

    # -- where the pairs come from ---------------------------------------------------------
    def _where(self) -> str:
        s = self.params.source
        return f"generator:{s}" if s in GENERATORS else str(self.resolve_path(s))

    def pairs(self) -> list[Pair]:
        """Every pair, in split order (train first, then val, then test)."""
        p = self.params
        if p.source == "dates":
            return date_pairs(p.n, self.seed)
        if p.source == "addition":
            return addition_pairs(p.n, self.seed, max_digits=p.max_digits)
        if p.source == "reversal":
            return reversal_pairs(p.n, self.seed, p.min_len, p.max_len, p.alphabet)
        path = self.resolve_path(p.source)
        if path.suffix == "" and not path.exists():
            raise DataError(f"is neither a generator ({', '.join(GENERATORS)}) nor an existing "
                            "file of pairs", source=p.source)
        pairs = read_pairs_file(path, p.source_column, p.target_column)
        order = np.random.default_rng(self.seed).permutation(len(pairs))  # (N,)
        return [pairs[int(i)] for i in order]

    # -- the bundle ------------------------------------------------------------------------
    def load(self) -> DataBundle:
        p = self.params
        where = self._where()
        with _at_key("data.train" if p.train is not None else "data.source"):
            pairs = self.pairs()
        with _at_key("data.val" if p.fraction("val") >= p.fraction("test") else "data.test"):
            cuts = split_by_fraction(len(pairs), p.fraction("val"), p.fraction("test"),
                                     source=where)
        train = pairs[cuts[0]]
        if self.saved is not None:  # a trained run scored on other pairs keeps its vocabularies
            src_vocab, tgt_vocab = self.saved.vocab, self.saved.target_vocab
        else:
            src_vocab = Vocab.build(list(s) for s, _ in train)
            tgt_vocab = Vocab.build(list(t) for _, t in train)
        info = DataInfo(input=Shape.SEQUENCE, vocab=src_vocab, target_vocab=tgt_vocab)
        files = {k: self.resolve_path(v) for k, v in p.files().items()}
        seen = {s for s, _ in train}
        splits: dict[str, TensorItems | None] = {"train": items_of(train, src_vocab, tgt_vocab)}
        dropped: dict[str, int] = {}
        held_pairs: list[Pair] = []
        for name, sl in (("val", cuts[1]), ("test", cuts[2])):
            if name in files:
                with _at_key(f"data.{name}"):
                    part, lines = read_pairs_lines(files[name], p.source_column, p.target_column)
                origin = str(files[name])
            else:
                part, lines, origin = pairs[sl], [None] * (sl.stop - sl.start), where
            if not part:
                splits[name] = None
                continue
            kept = [(pr, ln) for pr, ln in zip(part, lines) if pr[0] not in seen]
            dropped[name] = len(part) - len(kept)
            if not kept:
                raise DataError(
                    f"every {name} source also occurs in an earlier split, so {name} would "
                    "measure memory, not generalisation — "
                    + (f"give a {name} file of other sources" if name in files else
                       "the source has too few distinct pairs for data.n; lower n (or raise "
                       "max_digits / max_len)"),
                    source=origin, path=f"data.{name}" if name in files else "data.n")
            seen |= {pr[0] for pr, _ in kept}  # test must not repeat a validation source either
            held_pairs += [pr for pr, _ in kept]
            if name in files:  # read as evaluate --data FILE reads it: known characters only
                with _at_key(f"data.{name}"):
                    splits[name] = _encoded([{**encode_source(s, info, source=origin, line=ln),
                                              **_target(t, info)} for (s, t), ln in kept])
            else:
                splits[name] = items_of([pr for pr, _ in kept], src_vocab, tgt_vocab)
        every = pairs + held_pairs
        facet = Pairs(max_source_len=max(len(s) for s, _ in every),
                      max_target_len=max(len(t) for _, t in every), dropped_overlap=dropped)
        info = info.with_facets(Tokens(level="char"), facet)
        return DataBundle(splits["train"], splits["val"], splits["test"], info, source=where,
                          fingerprint=fingerprint(repr(pairs), repr(held_pairs),
                                                  p.model_dump_json()))

    # -- for the contract kit ------------------------------------------------------------
    def example_keys(self, bundle: DataBundle, split: str) -> set[str]:
        """Each pair's source string: the model must never be judged on a source it saw."""
        return set(columns_of(bundle.split(split), "src")["src"])

    def example_inputs(self, bundle: DataBundle) -> Table:
        """A few held-out pairs, in the pair file's column names."""
        cols = columns_of(bundle.test or bundle.val or bundle.train, "src", "tgt")
        return as_table({self.params.source_column: list(cols["src"][:5]),
                         self.params.target_column: list(cols["tgt"][:5])},
                        source="held-out pairs")

    # -- inputs for prediction -------------------------------------------------------------
    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """Source strings to translate: one per non-empty line of a UTF-8 text file, or the
        ``source`` column of a table (a pair file's ``target`` column, when present, is
        kept for scoring)."""
        p = self.params
        if isinstance(inputs, Table):
            (si,) = resolve_columns([p.source_column], inputs.header, inputs.source)
            ti = optional_column(p.target_column, inputs.header)
            if targets and ti is None:
                resolve_columns([p.target_column], inputs.header, inputs.source)
            return [{**encode_source(row[si], info, source=inputs.source, line=n),
                     **(_target(row[ti], info) if ti is not None else {})}
                    for row, n in zip(inputs.rows, inputs.lines)]
        if Path(inputs).suffix.lower() in (".csv", ".tsv"):
            pairs = read_pairs_file(Path(inputs), p.source_column, p.target_column)
            return [{**encode_source(s, info, source=str(inputs)), **_target(t, info)}
                    for s, t in pairs]
        if targets:
            raise DataError("scoring needs source,target pairs: give a .csv or .tsv file",
                            source=str(inputs))
        path = Path(inputs)
        if not path.exists():
            raise DataError("input file not found", source=str(path))
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise DataError("is not UTF-8 text", source=str(path)) from None
        lines = [(k, ln.rstrip("\r\n")) for k, ln in enumerate(text.splitlines(), 1)]
        sources = [(k, ln) for k, ln in lines if ln.strip()]
        if not sources:
            raise DataError("no source strings in the file (one per line)", source=str(path))
        return [encode_source(s, info, source=str(path), line=k) for k, s in sources]


def encode_source(text: str, info: DataInfo, *, source: str = "input",
                  line: int | None = None) -> dict[str, Any]:
    """An item (x, src) for a new source string; DataError for characters never seen in
    training (the model has no embedding for them) or an empty string."""
    vocab: Vocab = info.vocab
    if not text:
        raise DataError("the source string is empty", source=source, line=line)
    unknown = sorted({c for c in text if c not in vocab})
    if unknown:
        raise DataError(
            f"characters {''.join(unknown)!r} never occur in the training sources of this "
            f"model, so it cannot read {text!r}", source=source, line=line)
    return encode_pair(text, None, vocab, None)


def _encoded(items: list[dict[str, Any]]) -> TensorItems:
    return TensorItems(**{k: [it[k] for it in items] for k in ("x", "y", "src", "tgt")})


def _target(tgt: str, info: DataInfo) -> dict[str, Any]:
    return {"y": torch.tensor(info.target_vocab.encode(list(tgt), add_eos=True), dtype=torch.long),
            "tgt": tgt}


__all__ = ["Seq2SeqDataset", "Seq2SeqParams", "read_pairs_file", "encode_pair", "encode_source",
           "GENERATORS"]
