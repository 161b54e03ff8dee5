"""Token vocabularies and the char/word tokenizers that feed them.

Ids 0-3 are always the specials ``<pad>``, ``<unk>``, ``<bos>``, ``<eos>``, so padding
is id 0 everywhere (the default collate pads with zeros) and a saved model's special ids
never depend on the corpus. Other tokens follow by frequency, most frequent first, ties
broken by the token text, so building twice from the same data gives the same ids.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from ...errors import DataError, unknown_name_message

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS: tuple[str, ...] = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(4)

LEVELS = ("char", "word")
# a word is a run of word characters; every other non-space character is its own token,
# so "dog." and "dog" share the token "dog"
_WORD_RE = re.compile(r"\w+|[^\w\s]")
_NO_SPACE_BEFORE = set(".,;:!?)]}%")
_NO_SPACE_AFTER = set("([{")


class Vocab:
    """A fixed mapping between tokens and ids (see the module docstring for the order)."""

    def __init__(self, tokens: Sequence[str]) -> None:
        """``tokens``: the non-special tokens in id order (ids start at 4)."""
        self.itos: list[str] = list(SPECIALS) + [t for t in tokens]
        self.stoi: dict[str, int] = {}
        for i, tok in enumerate(self.itos):
            if tok in self.stoi:
                raise DataError(f"token {tok!r} appears twice in the vocabulary", source="vocab")
            self.stoi[tok] = i

    @classmethod
    def build(
        cls,
        sequences: Iterable[Iterable[str]],
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> Vocab:
        """Count tokens over ``sequences`` and keep those seen at least ``min_freq`` times.

        ``max_size`` caps the number of non-special tokens (the most frequent are kept);
        ``len(vocab)`` is then at most ``max_size + 4``. Special strings found in the data
        are not counted: they already have their fixed ids.
        """
        if min_freq < 1:
            raise DataError(f"min_freq must be at least 1, got {min_freq}", source="vocab")
        if max_size is not None and max_size < 0:
            raise DataError(f"max_size must be 0 or more, got {max_size}", source="vocab")
        counts: Counter[str] = Counter()
        for seq in sequences:
            counts.update(seq)
        for special in SPECIALS:
            counts.pop(special, None)
        kept = sorted(
            (tok for tok, n in counts.items() if n >= min_freq),
            key=lambda tok: (-counts[tok], tok),
        )
        if max_size is not None:
            kept = kept[:max_size]
        return cls(kept)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens)"

    @property
    def pad_id(self) -> int:
        return PAD_ID

    @property
    def unk_id(self) -> int:
        return UNK_ID

    @property
    def bos_id(self) -> int:
        return BOS_ID

    @property
    def eos_id(self) -> int:
        return EOS_ID

    def encode(
        self, tokens: Iterable[str], add_bos: bool = False, add_eos: bool = False
    ) -> list[int]:
        """Ids of ``tokens``; unknown tokens become ``<unk>``."""
        ids = [self.stoi.get(tok, UNK_ID) for tok in tokens]
        if add_bos:
            ids.insert(0, BOS_ID)
        if add_eos:
            ids.append(EOS_ID)
        return ids

    def decode(self, ids: Iterable[int], strip_specials: bool = True) -> list[str]:
        """Tokens of ``ids``.

        With ``strip_specials`` the structural tokens ``<pad>``, ``<bos>`` and ``<eos>``
        are dropped; ``<unk>`` is kept because it stands for real input.
        """
        out = []
        n = len(self.itos)
        for i in ids:
            i = int(i)  # accepts numpy and 0-d tensor ids
            if not 0 <= i < n:
                raise ValueError(f"id {i} is outside the vocabulary of {n} tokens")
            if strip_specials and i in (PAD_ID, BOS_ID, EOS_ID):
                continue
            out.append(self.itos[i])
        return out

    def to_dict(self) -> dict[str, Any]:
        """``{"specials": [...], "tokens": [...]}`` — JSON-able; tokens in id order from 4."""
        return {"specials": list(SPECIALS), "tokens": self.itos[len(SPECIALS):]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocab:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
            raise DataError("vocabulary data must be a dict with a 'tokens' list", source="vocab")
        specials = data.get("specials", list(SPECIALS))
        if list(specials) != list(SPECIALS):
            raise DataError(
                f"vocabulary was saved with specials {specials}, expected {list(SPECIALS)}",
                source="vocab",
            )
        return cls([str(t) for t in data["tokens"]])


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise DataError(unknown_name_message("tokenizer level", level, LEVELS), source="tokenizer")


def tokenize(text: str, level: str) -> list[str]:
    """Split ``text`` into characters (``"char"``, lossless) or words (``"word"``).

    Word level splits words from punctuation and drops whitespace, so its
    :func:`detokenize` is an approximation (single spaces, no newlines).
    """
    _check_level(level)
    if level == "char":
        return list(text)
    return _WORD_RE.findall(text)


def detokenize(tokens: Iterable[str], level: str) -> str:
    """Join tokens back into text (exact for ``"char"``; spaced for ``"word"``)."""
    _check_level(level)
    tokens = list(tokens)
    if level == "char":
        return "".join(tokens)
    parts: list[str] = []
    for tok in tokens:
        if parts and tok not in _NO_SPACE_BEFORE and parts[-1] not in _NO_SPACE_AFTER:
            parts.append(" ")
        parts.append(tok)
    return "".join(parts)
