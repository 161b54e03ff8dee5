"""``text``: a corpus for a language model, laid out as parallel contiguous streams.

The corpus (the user's text files, or ``builtin:stdlib`` — Python's own source, see
:mod:`seqforge.data.text_corpus`) is tokenized (characters, or words), split
*contiguously* into train / val / test (train first, test last, so no validation text
sits inside the training text), and the vocabulary is built on the training part only;
characters first seen in val/test become ``<unk>``.

Layout ("batchify", as in the classic Zaremba et al. / PyTorch word-LM recipe): each
part of L tokens is cut into B equal, contiguous *streams* of ``n = (L-1) // B`` targets,
and every stream into chunks of ``seq_len`` steps. Item ``k·B + b`` is chunk k of
stream b, so with an unshuffled loader of batch size B, row b of batch k+1 continues row
b of batch k, and the engine may carry the recurrent state from one batch to the next
(``DataBundle.stateful``). Within a batch, truncated BPTT (``train.bptt.truncate``)
cuts the chunk again and carries the state across those pieces.

B is *the loader's batch size*: the bundle (:class:`StreamBundle`) lays the streams out
again whenever a loader is asked for, so ``train.batch_size`` is the number of streams
and no second setting has to be kept equal to it. Indexing a split directly
(``bundle.train[i]``) sees one stream.

``seqforge predict`` reads a text file and scores every non-blank line on its own
(bits per character of the line and its final newline, given a newline before it); see
:meth:`TextLM.read_inputs`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from pydantic import Field, field_validator, model_validator
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ...errors import DataError
from ...kinds import Shape
from ..base import (
    DataBundle,
    DataInfo,
    DataParams,
    DatasetSource,
    Inputs,
    fingerprint,
    sharded_loader,
)
from ..facets import Tokens, TokenStream
from ..io.table import Table, as_table, resolve_columns
from ..io.text_corpus import STDLIB_SOURCE, read_text_files, stdlib_corpus
from ..splits import split_by_fraction
from ..transforms.vocab import UNK_ID, Vocab, detokenize, tokenize


class TextLMParams(DataParams):
    source: list[str] = Field(
        default_factory=lambda: [STDLIB_SOURCE],
        description="text file path(s) relative to the spec, joined in order; or builtin:stdlib")
    max_chars: int | None = Field(
        1_000_000, ge=1, description="use at most this many characters of the corpus (null: all)")
    seq_len: int = Field(200, ge=1, le=1_000_000,
                         description="steps per item (one batch's length along time)")
    level: Literal["char", "word"] = Field("char", description="char (lossless) or word tokens")
    min_freq: int = Field(1, ge=1, description="tokens seen fewer times in train become <unk>")
    max_vocab: int | None = Field(None, ge=1, description="keep only the most frequent tokens")
    val: float = Field(0.05, ge=0, lt=1, description="fraction of the corpus (after train) for validation")
    test: float = Field(0.05, ge=0, lt=1, description="last fraction of the corpus for testing")

    @field_validator("source", mode="before")
    @classmethod
    def _listify(cls, v):
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _builtin_alone(self):
        if STDLIB_SOURCE in self.source and len(self.source) > 1:
            raise ValueError(f"{STDLIB_SOURCE} cannot be mixed with files; give one or the other")
        if not self.source:
            raise ValueError("give at least one text file, or builtin:stdlib")
        return self


class TokenStreams(Dataset):
    """One part's token ids as ``streams`` contiguous rows cut into ``seq_len`` chunks.

    ``self[k * streams + b]`` is ``{"x": (T,) long, "y": (T,) long}``: chunk k of stream
    b, ``y`` being ``x`` shifted by one token. The last chunk of every stream may be
    shorter than ``seq_len`` (it is the same length in all streams, so batches never pad).
    """

    def __init__(self, ids: Tensor, seq_len: int, streams: int = 1, *, part: str = "train",
                 source: str = "", offset: int = 0):
        self.ids = ids  # (L,) long, the whole part in order
        #: position of the part's first token in the whole corpus
        self.offset = offset
        self.seq_len = seq_len
        self.part = part
        self.source = source
        L = ids.numel()
        self.n = (L - 1) // streams  # targets per stream; the last (L-1) % B tokens are dropped
        if self.n < 1:
            raise DataError(
                f"the {part} part has {L:,} tokens: too few for {streams} parallel streams "
                f"(train.batch_size) — lower train.batch_size, give the {part} part a larger "
                "fraction, or add text", source=source, path="train.batch_size")
        self.streams = streams
        used = streams * self.n
        self.x = ids[:used].view(streams, self.n)  # (B, n) views, no copy
        self.y = ids[1:used + 1].view(streams, self.n)  # (B, n)
        self.chunks = math.ceil(self.n / seq_len)
        self._layouts: dict[int, TokenStreams] = {}

    def __len__(self) -> int:
        return self.chunks * self.streams

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        k, b = divmod(i, self.streams)
        sl = slice(k * self.seq_len, (k + 1) * self.seq_len)
        return {"x": self.x[b, sl], "y": self.y[b, sl]}

    def targets(self) -> Tensor:
        """Every token of the part that has a predecessor in it: (L-1,) long."""
        return self.ids[1:]

    def with_streams(self, streams: int) -> TokenStreams:
        """The same tokens laid out as ``streams`` rows (views of the same ids, cached)."""
        if streams == self.streams:
            return self
        if streams not in self._layouts:
            self._layouts[streams] = TokenStreams(self.ids, self.seq_len, streams,
                                                  part=self.part, source=self.source,
                                                  offset=self.offset)
        return self._layouts[streams]


class StreamBundle(DataBundle):
    """A DataBundle whose loaders lay each split out as ``batch_size`` streams, in order.

    The loader is never shuffled: the order of items *is* the continuity of the streams
    (the bundle is ``stateful``).
    """

    def loader(self, name: str, batch_size: int, *, shuffle: bool = False,
               generator: torch.Generator | None = None, num_workers: int = 0,
               pin_memory: bool = False, rank: int = 0, world: int = 1) -> DataLoader | None:
        ds = self.split(name)
        if ds is None or len(ds) == 0:
            return None
        if isinstance(ds, TokenStreams):
            ds = ds.with_streams(batch_size)
        # never shuffled; with several ranks, rank r keeps streams r, r+W, … in every batch,
        # so each of its rows still continues the same stream batch after batch
        return sharded_loader(ds, batch_size, self.collate, shuffle=False, generator=generator,
                              num_workers=num_workers, pin_memory=pin_memory, rank=rank,
                              world=world)


class TextLM(DatasetSource):
    """A text corpus for a character (or word) language model."""

    Params = TextLMParams
    provides = Shape.SEQUENCE
    facets = (Tokens, TokenStream)

    # -- reading ---------------------------------------------------------------------------
    def _source_name(self) -> str:
        p = self.params
        return p.source[0] if p.source == [STDLIB_SOURCE] else ", ".join(
            str(self.resolve_path(s)) for s in p.source)

    def read_corpus(self) -> str:
        """The corpus text, cut to ``max_chars`` at a line break."""
        p = self.params
        if p.source == [STDLIB_SOURCE]:
            return stdlib_corpus(p.max_chars or 10**12)
        text = read_text_files([self.resolve_path(s) for s in p.source])
        if p.max_chars is not None and len(text) > p.max_chars:
            cut = text.rfind("\n", 0, p.max_chars)
            text = text[:cut + 1] if cut > 0 else text[:p.max_chars]
        return text

    # -- the bundle ------------------------------------------------------------------------
    def load(self) -> DataBundle:
        p = self.params
        source = self._source_name()
        try:
            text = self.read_corpus()
        except DataError as err:
            err.path = err.path or "data.source"
            raise
        tokens = tokenize(text, p.level)
        unit = "characters" if p.level == "char" else "words"
        if len(tokens) < p.seq_len + 1:
            raise DataError(
                f"is too short for a language model: {len(tokens):,} {unit}, fewer than "
                f"seq_len + 1 = {p.seq_len + 1:,} — add text or lower data.seq_len",
                source=source, path="data.source")
        try:
            parts = split_by_fraction(len(tokens), p.val, p.test)
        except DataError as err:  # a fraction too small for this text: say it is short
            raise DataError(f"is too short for a language model with these fractions: "
                            f"{len(tokens):,} {unit}; {err.message}", source=source,
                            path="data.val" if "val" in err.message else "data.test") from None
        n_train = parts[0].stop
        # the training part must fill at least one chunk (seq_len inputs + the target
        # after the last), or the model would learn from a fragment
        if n_train < p.seq_len + 1:
            raise DataError(
                f"is too short for a language model: its training part has {n_train:,} {unit} "
                f"(of {len(tokens):,}), fewer than seq_len + 1 = {p.seq_len + 1:,} — add text "
                "or lower data.seq_len", source=source, path="data.seq_len")
        # a trained run scored on other text keeps its vocabulary (new characters: <unk>)
        vocab = (self.saved.vocab if self.saved is not None else
                 Vocab.build([tokens[parts[0]]], min_freq=p.min_freq, max_size=p.max_vocab))
        splits: dict[str, TokenStreams | None] = {}
        for name, sl in zip(("train", "val", "test"), parts):
            if sl.stop - sl.start < 2:  # a part of one token has no target
                if sl.stop > sl.start:
                    raise DataError(f"the {name} part has one token, so nothing to predict — raise "
                                    f"data.{name} or set it to 0", source=source,
                                    path=f"data.{name}")
                splits[name] = None
                continue
            ids = torch.tensor(vocab.encode(tokens[sl]), dtype=torch.long)  # (L,)
            splits[name] = TokenStreams(ids, p.seq_len, 1, part=name, source=source,
                                        offset=sl.start)
        held_out = parts[2] if splits["test"] is not None else (
            parts[1] if splits["val"] is not None else parts[0])
        stream = TokenStream(
            seq_len=p.seq_len, characters=len(text),
            unigram_counts=torch.bincount(splits["train"].ids, minlength=len(vocab)).tolist(),
            unk_rate={n: float((s.targets() == UNK_ID).float().mean())
                      for n, s in splits.items() if s is not None},
            sample_prompts=sample_prompts(tokens[held_out], p.level))
        info = DataInfo(input=Shape.SEQUENCE, vocab=vocab, target_vocab=vocab).with_facets(
            Tokens(level=p.level), stream)
        return StreamBundle(splits["train"], splits["val"], splits["test"], info, source=source,
                            fingerprint=fingerprint(splits["train"].ids, p.model_dump_json()),
                            stateful=True)

    # -- for the contract kit ------------------------------------------------------------
    def example_keys(self, bundle: DataBundle, split: str) -> set[int] | None:
        """The corpus positions of a split's tokens (each part is one contiguous slice)."""
        ds = bundle.split(split)
        if not isinstance(ds, TokenStreams):
            return None
        return set(range(ds.offset, ds.offset + ds.ids.numel()))

    def example_inputs(self, bundle: DataBundle) -> Table:
        """The corpus' last few non-blank lines, as a ``text`` column."""
        lines = [ln for ln in self.read_corpus().splitlines() if ln.strip()][-5:]
        return as_table({"text": lines}, source="the corpus' last lines")

    # -- seqforge predict ------------------------------------------------------------------
    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """Every non-blank line of a text file (or of a table's ``text`` column), to be
        scored on its own.

        Char level: the line is read as it would appear in running text — after a
        newline, and followed by one — so its bits/char cover each of its characters and
        the final newline. Word level: every word after the first is scored (a line of
        one word has nothing to score and is skipped).
        """
        if isinstance(inputs, Table):
            (k,) = resolve_columns(["text"], inputs.header, inputs.source)
            lines = [(n, row[k]) for row, n in zip(inputs.rows, inputs.lines)]
            where = inputs.source
        else:
            lines = list(enumerate(read_text_files([inputs]).splitlines(), start=1))
            where = str(inputs)
        vocab: Vocab = info.vocab
        level = info.facet(Tokens).level
        items = []
        for lineno, line in lines:
            if not line.strip():
                continue
            toks = (["\n", *line, "\n"] if level == "char" else tokenize(line, level))
            if len(toks) < 2:
                continue
            ids = torch.tensor(vocab.encode(toks), dtype=torch.long)  # (L,)
            items.append({"x": ids[:-1], "y": ids[1:], "line": lineno, "text": line})
        if not items:
            raise DataError("has no line with anything to score", source=where)
        return items


def sample_prompts(tokens: list[str], level: str, n: int = 3, chars: int = 24) -> list[str]:
    """Up to ``n`` prompts from held-out tokens, spread through them.

    Taken from text the model did not train on, so the samples in ``samples.txt`` show
    continuation, not recall. Char level: the starts of lines — the indentation and up
    to ``chars`` characters after it, cut after the last space so the model goes on
    mid-line but not mid-word. Word level: four consecutive words.
    """
    if level == "word":
        starts = [(i * len(tokens)) // n for i in range(n)] if len(tokens) >= 4 * n else []
        return [detokenize(tokens[s:s + 4], "word") for s in starts]
    lines = [ln for ln in "".join(tokens).splitlines() if len(ln.strip()) >= 8]
    out = []
    m = min(n, len(lines))
    for i in range(m):
        ln = lines[(i * len(lines)) // m]
        indent = len(ln) - len(ln.lstrip())
        head = ln[:indent + chars]
        cut = head.rfind(" ")
        out.append(head[:cut + 1] if cut >= indent else head)
    return out


__all__ = ["TextLM", "TextLMParams", "TokenStreams", "StreamBundle", "sample_prompts"]
