"""vocab: fixed specials, deterministic order, round trips, tokenizers."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqforge.data.transforms.vocab import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    SPECIALS,
    UNK_ID,
    Vocab,
    detokenize,
    tokenize,
)
from seqforge.errors import DataError


def test_specials_have_fixed_ids():
    v = Vocab.build([])
    assert len(v) == 4
    assert v.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3) == (v.pad_id, v.unk_id, v.bos_id,
                                                                 v.eos_id)


def test_order_is_frequency_then_token():
    v = Vocab.build([list("banana"), list("cab")])
    # a:4, n:2, b:2, c:1 -> a, b, n (tie broken alphabetically), c
    assert v.itos[4:] == ["a", "b", "n", "c"]
    assert Vocab.build([list("cab"), list("banana")]) == v


def test_min_freq_max_size_and_special_strings_in_data():
    seqs = [["x", "x", "y", "<pad>", "z", "z", "z"]]
    assert Vocab.build(seqs, min_freq=2).itos[4:] == ["z", "x"]
    assert Vocab.build(seqs, max_size=1).itos[4:] == ["z"]
    assert Vocab.build(seqs).encode(["<pad>"]) == [PAD_ID]


def test_encode_decode():
    v = Vocab.build([["the", "cat", "sat"]])
    ids = v.encode(["the", "dog"], add_bos=True, add_eos=True)
    assert ids[0] == BOS_ID and ids[-1] == EOS_ID and ids[2] == UNK_ID
    assert v.decode(ids) == ["the", "<unk>"]
    assert v.decode(ids + [PAD_ID], strip_specials=False) == [
        "<bos>", "the", "<unk>", "<eos>", "<pad>"]
    with pytest.raises(ValueError, match="outside"):
        v.decode([len(v)])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=5))
def test_char_round_trip(texts):
    v = Vocab.build(tokenize(t, "char") for t in texts)
    for t in texts:
        assert detokenize(v.decode(v.encode(tokenize(t, "char"))), "char") == t


def test_dict_round_trip_through_json():
    v = Vocab.build([tokenize("hello world, hello!", "word")])
    w = Vocab.from_dict(json.loads(json.dumps(v.to_dict())))
    assert w == v and w.stoi == v.stoi
    with pytest.raises(DataError, match="specials"):
        Vocab.from_dict({"specials": ["<unk>"], "tokens": []})
    with pytest.raises(DataError):
        Vocab.from_dict({"tokens": "abc"})


def test_word_tokenizer():
    tokens = tokenize("Hello, world! It's (really) fine.", "word")
    assert tokens == ["Hello", ",", "world", "!", "It", "'", "s", "(", "really", ")", "fine", "."]
    assert detokenize(["Hello", ",", "world", "(", "x", ")", "."], "word") == "Hello, world (x)."


def test_unknown_level_names_nearest():
    with pytest.raises(DataError, match="did you mean 'word'"):
        tokenize("x", "words")
    with pytest.raises(DataError):
        detokenize(["x"], "byte")


def test_specials_constant():
    assert SPECIALS == ("<pad>", "<unk>", "<bos>", "<eos>")
