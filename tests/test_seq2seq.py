"""Encoder–decoder seq2seq: the dataset, the topology's pieces (bridge, attention, teacher
forcing), greedy and beam decoding. The task, end-to-end training and the ``translate``
command: test_seq2seq_task.py."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from seq2seq_helpers import (
    build_model,
    bundle_of,
    sequence_logprob,
    token_batch,
)

from seqforge.data.base import pad_collate
from seqforge.data.facets import Pairs
from seqforge.data.sources.seq2seq import read_pairs_file
from seqforge.data.transforms.vocab import EOS_ID, PAD_ID
from seqforge.errors import DataError
from seqforge.inference.beam import beam_search, greedy_decode
from seqforge.topologies.attention import Attention

# -- data -------------------------------------------------------------------------------------

def test_generated_pairs_are_encoded_with_eos_and_split_by_fraction():
    _, b = bundle_of(source="dates", n=400, val=0.1, test=0.2)
    item = b.train[0]
    src_v, tgt_v = b.info.vocab, b.info.target_vocab
    assert "".join(src_v.decode(item["x"].tolist())) == item["src"]
    assert item["y"][-1] == EOS_ID and EOS_ID not in item["y"][:-1].tolist()
    assert "".join(tgt_v.decode(item["y"].tolist())) == item["tgt"]
    assert len(item["tgt"]) == 10 and item["tgt"][4] == "-"
    assert len(b.train) == 280 and len(b.val) == 40 and len(b.test) == 80  # dates never repeat
    # separate character vocabularies: month letters only on the source side
    assert "J" in src_v and "J" not in tgt_v and "-" in tgt_v


def test_generation_is_seeded():
    _, a = bundle_of(source="addition", n=300, seed=4)
    _, b = bundle_of(source="addition", n=300, seed=4)
    _, c = bundle_of(source="addition", n=300, seed=5)
    assert a.train.columns["src"] == b.train.columns["src"] and a.fingerprint == b.fingerprint
    assert a.train.columns["src"] != c.train.columns["src"]
    assert all(eval(s) == int(t) for s, t in zip(a.train.columns["src"], a.train.columns["tgt"]))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(60, 400), digits=st.integers(2, 3))
def test_held_out_sources_never_occur_in_training(seed, n, digits):
    """Addition repeats small sums often; val/test must still be unseen sources."""
    _, b = bundle_of(source="addition", n=n, max_digits=digits, seed=seed)
    seen = set(b.train.columns["src"])
    for part in (b.val, b.test):
        assert part is not None and not seen & set(part.columns["src"])
    dropped = b.info.facet(Pairs).dropped_overlap
    assert len(b.val) + dropped["val"] == round(n * 0.1)


def test_collate_pads_and_records_lengths():
    _, b = bundle_of(source="reversal", n=50, min_len=2, max_len=7)
    items = [b.train[i] for i in range(8)]
    batch = pad_collate(items)
    assert batch["x"].shape == (8, max(len(it["src"]) for it in items))
    assert batch["lengths"].tolist() == [len(it["src"]) for it in items]
    assert batch["y_lengths"].tolist() == [len(it["tgt"]) + 1 for it in items]
    assert batch["src"] == [it["src"] for it in items]


def test_too_few_distinct_pairs_is_a_data_error():
    with pytest.raises(DataError, match="too few distinct"):
        bundle_of(source="addition", n=3000, max_digits=1)  # only 100 distinct sums


def test_pairs_from_tsv_and_csv(tmp_path):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("source\ttarget\nGo.\tVa !\tCC-BY 2.0\n\nHi.\tSalut !\n", encoding="utf-8")
    assert read_pairs_file(tsv) == [("Go.", "Va !"), ("Hi.", "Salut !")]
    f = tmp_path / "pairs.csv"
    f.write_text("id,en,fr\n1,Go.,Va !\n2,\"Hi, you.\",Salut !\n", encoding="utf-8")
    assert read_pairs_file(f, "en", "fr") == [("Go.", "Va !"), ("Hi, you.", "Salut !")]


def test_file_dataset_is_shuffled_and_split(tmp_path):
    rows = [(f"w{i:03d}", f"{i:03d}w") for i in range(100)]
    (tmp_path / "p.tsv").write_text("".join(f"{s}\t{t}\n" for s, t in rows), encoding="utf-8")
    _, b = bundle_of(tmp_path, source="p.tsv", val=0.2, test=0.2)
    assert (len(b.train), len(b.val), len(b.test)) == (60, 20, 20)
    got = list(b.train.columns["src"]) + list(b.val.columns["src"]) + list(b.test.columns["src"])
    assert sorted(got) == [s for s, _ in rows] and got != [s for s, _ in rows]


@pytest.mark.parametrize("name,text,params,match", [
    ("p.tsv", "abc\tcba\nabd dba\n", {}, r"p\.tsv \(line 2\): expected 'source<TAB>target'"),
    ("p.tsv", "abc\tcba\nabd\t\n", {}, r"\(line 2\): the target text is empty"),
    ("p.tsv", "\n\n", {}, "no source,target pairs"),
    ("p.csv", "source,target\na,b\n,c\n", {}, r"\(line 3\): the source text is empty"),
    ("p.csv", "src,tgt\na,b\n", {}, "no column 'source'"),
    ("p.csv", "en,fr\na,b\n", {"source_column": "en", "target_column": "de"}, "no column 'de'"),
])
def test_bad_pair_files_are_data_errors(tmp_path, name, text, params, match):
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=match):
        bundle_of(tmp_path, source=name, **params)


def test_non_utf8_pair_file(tmp_path):
    (tmp_path / "p.tsv").write_bytes("caf\xe9\tcoffee\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        bundle_of(tmp_path, source="p.tsv")


def test_missing_file_or_unknown_source(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        bundle_of(tmp_path, source="nope.tsv")
    with pytest.raises(DataError, match="neither a generator"):
        bundle_of(tmp_path, source="datez")


def test_read_inputs_one_source_per_line(tmp_path):
    src, b = bundle_of(tmp_path, source="reversal", n=200)
    f = tmp_path / "in.txt"
    f.write_text("abc\n\njihg\n", encoding="utf-8")
    items = src.read_inputs(f, b.info)
    assert [it["src"] for it in items] == ["abc", "jihg"]
    assert "".join(b.info.vocab.decode(items[1]["x"].tolist())) == "jihg"
    f.write_text("abc\nabz\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"in\.txt \(line 2\): characters 'z' never occur"):
        src.read_inputs(f, b.info)
    f.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="no source strings"):
        src.read_inputs(f, b.info)


# -- topology: bridge, attention, teacher forcing -------------------------------------------

@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("layers,dec_layers,bidir,hidden,dec_hidden", [
    (1, 1, False, 8, None),  # identity bridge
    (2, 3, True, 6, 5),      # more decoder layers, bidirectional encoder, other size
    (3, 1, False, 4, 9),     # fewer decoder layers
    (2, 2, True, 4, 8),      # D·H == Hd: still a bridge? no — sizes match, identity works
])
def test_bridge_maps_encoder_state_into_each_decoder_layer(cell, layers, dec_layers, bidir,
                                                           hidden, dec_hidden):
    model = build_model(cell, hidden=hidden, layers=layers, bidirectional=bidir,
                        decoder_layers=dec_layers, decoder_hidden_size=dec_hidden)
    batch = token_batch()
    memory, mask, state = model.encode(batch)
    D = 2 if bidir else 1
    Hd = dec_hidden or hidden
    assert memory.shape == (4, 6, D * hidden)
    assert len(state) == dec_layers
    n_states = 2 if cell == "lstm" else 1
    assert all(len(s) == n_states and all(t.shape == (4, Hd) for t in s) for s in state)
    # the first decoder layer reads the first encoder layer, the last the last
    assert model._enc_layer(dec_layers - 1) == layers - 1
    if dec_layers > 1:
        assert model._enc_layer(0) == 0
    out, _ = model(batch)
    assert out.shape == (4, 5, 9) and torch.isfinite(out).all()
    out.sum().backward()
    if not model.same:  # every bridge map is trained
        assert all(p.grad is not None for p in model.bridge.parameters())


def test_identity_bridge_passes_the_encoder_state_through():
    model = build_model("lstm", hidden=6, layers=2)
    assert model.same and not hasattr(model, "bridge")
    batch = token_batch()
    x = model.src_adapter(batch["x"])
    _, enc_state = model.encoder(x, None, batch["lengths"])
    _, _, state = model.encode(batch)
    for a, b in zip(enc_state, state):
        for u, v in zip(a, b):
            torch.testing.assert_close(u, v)


@pytest.mark.parametrize("kind", ["dot", "general", "additive"])
def test_attention_gives_padding_zero_weight(kind):
    att = Attention(kind, 6, 6 if kind == "dot" else 10)
    q, mem = torch.randn(3, 4, 6), torch.randn(3, 5, 6 if kind == "dot" else 10)
    mask = torch.arange(5)[None] < torch.tensor([5, 2, 3])[:, None]  # (3, 5)
    out, w = att(q, mem, mask)
    assert out.shape == (3, 4, 6)
    assert (w[~mask.unsqueeze(1).expand_as(w)] == 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 4))
    garbage = mem.clone()
    garbage[~mask] = 1e3  # what sits in padded memory must not matter
    torch.testing.assert_close(att(q, garbage, mask)[0], out)


def test_dot_attention_with_unequal_sizes_learns_a_map():
    assert Attention("dot", 6, 12).kind == "general"


@pytest.mark.parametrize("attention", ["none", "dot", "additive"])
@pytest.mark.parametrize("bidir", [False, True])
def test_outputs_ignore_source_padding(attention, bidir):
    """A row decodes the same alone (unpadded) and in a padded batch, whatever the padding holds."""
    model = build_model("gru", hidden=6, bidirectional=bidir, attention=attention, embedding=5)
    batch = token_batch(lengths=[6, 2, 4, 3])
    out, _ = model(batch)
    noisy = dict(batch, x=batch["x"].clone())
    noisy["x"][torch.arange(6)[None] >= batch["lengths"][:, None]] = 5  # garbage, not <pad>
    torch.testing.assert_close(model(noisy)[0], out)
    for row in range(4):
        n = int(batch["lengths"][row])
        alone = {"x": batch["x"][row:row + 1, :n], "y": batch["y"][row:row + 1]}
        torch.testing.assert_close(model(alone)[0], out[row:row + 1], atol=1e-5, rtol=1e-5)


def test_teacher_forcing_zero_feeds_the_models_own_predictions():
    model = build_model("lstm", hidden=8, attention="general", teacher_forcing=0.0).train()
    batch = token_batch()
    out, _ = model(batch)  # train mode: every step reads its own argmax
    memory, mask, state = model.encode(batch)
    prev, steps = model.start_token(4, "cpu"), []
    for _ in range(batch["y"].shape[1]):
        o, state = model.decode_step(prev, state, memory, mask)
        steps.append(o)
        prev = o.argmax(-1, keepdim=True)
    torch.testing.assert_close(out, torch.stack(steps, 1))
    # and it differs from teacher forcing (the target is random, the argmax is not)
    assert not torch.allclose(out, model.eval()(batch)[0])


def test_teacher_forcing_mixes_per_example_and_only_in_training():
    model = build_model("gru", hidden=8, teacher_forcing=0.5).train()
    batch = token_batch(B=64, seed=3)
    forced = build_model("gru", hidden=8, teacher_forcing=1.0).train()(batch)[0]
    free = build_model("gru", hidden=8, teacher_forcing=0.0).train()(batch)[0]
    torch.manual_seed(0)
    mixed = model(batch)[0]
    # step 0 always reads <bos>; later steps follow the truth or the model, per example
    torch.testing.assert_close(mixed[:, 0], forced[:, 0])
    like_forced = torch.isclose(mixed, forced).all(-1)[:, 1:]  # (B, T-1)
    like_free = torch.isclose(mixed, free).all(-1)[:, 1:]
    assert like_forced.any() and (~like_forced).any()
    assert (like_forced | like_free)[:, 0].all()  # step 1 follows one coin: truth or own
    torch.testing.assert_close(model.eval()(batch)[0], forced)  # eval: teacher-forced loss


# -- decoding ---------------------------------------------------------------------------------

MODELS = [dict(cell="gru"), dict(cell="lstm", attention="additive", layers=2, bidirectional=True),
          dict(cell="gru", attention="dot", embedding=4, decoder_hidden_size=5)]


@pytest.mark.parametrize("cfg", MODELS)
def test_beam_of_one_is_greedy(cfg):
    model = build_model(hidden=8, seed=1, **cfg)
    batch = token_batch(B=6, seed=2)
    g = greedy_decode(model, batch, max_length=12)
    (b,) = beam_search(model, batch, 1, max_length=12)
    L = b.tokens.shape[1]
    torch.testing.assert_close(g.tokens[:, :L], b.tokens)
    assert (g.tokens[:, L:] == PAD_ID).all()
    torch.testing.assert_close(g.lengths, b.lengths)
    torch.testing.assert_close(g.scores, b.scores)


@pytest.mark.parametrize("cfg", MODELS)
@pytest.mark.parametrize("K", [1, 3, 5])
def test_beam_scores_are_the_models_length_normalised_logprob(cfg, K):
    """Rescoring each returned hypothesis with the model gives its score: the beams'
    states and histories were reordered consistently."""
    model = build_model(hidden=8, seed=4, **cfg)
    batch = token_batch(B=5, seed=6)
    results = beam_search(model, batch, K, max_length=7, n_best=min(K, 2))
    for rank, res in enumerate(results):
        for row in range(5):
            n = int(res.lengths[row])
            ids = res.tokens[row, :n].tolist()
            assert (res.tokens[row, n:] == PAD_ID).all()
            assert EOS_ID not in ids[:-1] and (ids[-1] == EOS_ID or n == 7)
            assert float(res.scores[row]) == pytest.approx(sequence_logprob(model, batch, row, ids) / n,
                                                           abs=1e-4)
    if len(results) == 2:
        assert (results[0].scores >= results[1].scores).all()


def test_beam_rows_are_independent():
    model = build_model("lstm", hidden=8, attention="general", seed=2)
    batch = token_batch(B=4, seed=8)
    (together,) = beam_search(model, batch, 3, max_length=8)
    for row in range(4):
        n = int(batch["lengths"][row])
        (alone,) = beam_search(model, {"x": batch["x"][row:row + 1, :n]}, 3, max_length=8)
        L = int(alone.lengths[0])
        assert together.tokens[row, :L].tolist() == alone.tokens[0, :L].tolist()
        assert float(together.scores[row]) == pytest.approx(float(alone.scores[0]), abs=1e-5)


def test_decoding_stops_at_eos_and_at_max_length():
    model = build_model("gru", hidden=8)
    with torch.no_grad():
        model.head.bias.zero_()
        model.head.weight.zero_()
        model.head.bias[EOS_ID] = 10.0  # always says <eos>
    batch = token_batch()
    g = greedy_decode(model, batch, max_length=20)
    assert g.tokens.shape == (4, 1) and (g.tokens[:, 0] == EOS_ID).all() and (g.lengths == 1).all()
    (b,) = beam_search(model, batch, 4, max_length=20)
    assert (b.tokens[:, 0] == EOS_ID).all() and (b.lengths == 1).all()
    with torch.no_grad():
        model.head.bias[EOS_ID] = -10.0  # never says <eos>
        model.head.bias[5] = 10.0
    g = greedy_decode(model, batch, max_length=7)
    assert g.tokens.shape == (4, 7) and (g.tokens == 5).all() and (g.lengths == 7).all()
    (b,) = beam_search(model, batch, 3, max_length=7)
    assert b.tokens.shape == (4, 7) and (b.lengths == 7).all()
