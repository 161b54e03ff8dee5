"""Character-level language modelling: sampling, the ``text`` dataset's streams, the
unigram baseline, bad input, and an end-to-end run with ``seqforge generate``."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from seqforge.api import build, load_spec, train
from seqforge.data.facets import TokenStream
from seqforge.data.sources.text import TokenStreams, sample_prompts
from seqforge.data.transforms.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Vocab
from seqforge.engine.tbptt import chunks as _chunks
from seqforge.errors import DataError, SpecError
from seqforge.inference.sampling import filter_logits, generate, prompt_ids, sample_next
from seqforge.tasks.language_model import LMMetrics

TEXT = ("the quick brown fox jumps over the lazy dog.\n"
        "pack my box with five dozen liquor jugs!\n") * 40


def lm_spec(source, **data) -> dict:
    return {
        "name": "tiny_lm", "seed": 0,
        "data": {"dataset": "text", "source": source, "seq_len": 20, "val": 0.1, "test": 0.1,
                 **data},
        "model": {"topology": "many_to_many", "cell": "gru", "hidden_size": 16, "embedding": 8},
        "task": {"name": "language_model", "samples": 1, "sample_length": 20},
        "train": {"epochs": 1, "batch_size": 4, "bptt": {"truncate": 10}, "threads": 1},
    }


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def built_lm(path, **data):
    return build(load_spec(lm_spec(str(path), **data), base_dir=path.parent))


# -- sampling ------------------------------------------------------------------------------
logit_rows = st.integers(2, 40).flatmap(lambda v: st.lists(
    st.floats(-20, 20, allow_nan=False, width=32), min_size=v, max_size=v))


@settings(max_examples=60, deadline=None)
@given(row=logit_rows, k=st.integers(1, 40), seed=st.integers(0, 2**31))
def test_top_k_keeps_exactly_the_k_best(row, k, seed):
    logits = torch.tensor([row])  # (1, V)
    kept = torch.isfinite(filter_logits(logits, top_k=k))[0]
    assert int(kept.sum()) == min(k, len(row))
    assert logits[0][kept].min() >= logits[0][~kept].max() if (~kept).any() else True
    best = set(torch.topk(logits[0], min(k, len(row))).indices.tolist())
    g = torch.Generator().manual_seed(seed)
    draws = sample_next(logits.expand(200, -1), temperature=1.0, top_k=k, generator=g)
    assert set(draws.tolist()) <= best


@settings(max_examples=60, deadline=None)
@given(row=logit_rows, p=st.floats(0.01, 1.0))
def test_top_p_keeps_the_smallest_set_with_mass_at_least_p(row, p):
    logits = torch.tensor([row], dtype=torch.float64)  # (1, V)
    probs = torch.softmax(logits[0], -1)
    kept = torch.isfinite(filter_logits(logits, top_p=p))[0]
    mass = float(probs[kept].sum())
    assert mass >= p - 1e-9 or bool(kept.all())
    # smallest: dropping the least probable kept token goes below p
    assert mass - float(probs[kept].min()) < p + 1e-9
    # the kept tokens are the most probable ones
    if (~kept).any():
        assert probs[kept].min() >= probs[~kept].max()


def test_top_p_on_a_known_distribution():
    logits = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log()
    assert torch.isfinite(filter_logits(logits, top_p=0.5))[0].tolist() == [True, False, False, False]
    assert torch.isfinite(filter_logits(logits, top_p=0.7))[0].tolist() == [True, True, False, False]
    assert torch.isfinite(filter_logits(logits, top_p=0.81))[0].tolist() == [True, True, True, False]


def test_temperature_to_zero_is_argmax():
    logits = torch.randn(64, 30, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    assert torch.equal(sample_next(logits, temperature=0), logits.argmax(-1))
    assert torch.equal(sample_next(logits, temperature=1e-4, generator=g), logits.argmax(-1))
    # at temperature 1 the draws are not all the argmax (the test can fail)
    assert not torch.equal(sample_next(logits, temperature=1.0, generator=g), logits.argmax(-1))


def test_sampling_is_reproducible_with_a_seed():
    logits = torch.randn(8, 50)

    def draw(seed):
        return sample_next(logits, temperature=1.0, top_k=20, top_p=0.9,
                           generator=torch.Generator().manual_seed(seed))

    assert torch.equal(draw(3), draw(3))
    assert not all(torch.equal(draw(3), draw(s)) for s in range(4, 8))


def test_bad_sampling_settings():
    logits = torch.zeros(1, 5)
    for kwargs in ({"temperature": -1}, {"top_k": 0}, {"top_p": 0.0}, {"top_p": 1.5}):
        with pytest.raises(ValueError):
            sample_next(logits, **kwargs)


# -- generation with a (random) model --------------------------------------------------------
def test_generate_primes_once_then_steps_with_state(corpus):
    b = built_lm(corpus)
    vocab = b.bundle.info.vocab
    model = b.model.eval()
    prompt, n = "the quick", 15
    fast = generate(model, vocab, prompt, n, temperature=0, level="char")[0]
    # reference: re-run the whole prefix for every token (what the state saves)
    ids = prompt_ids(vocab, prompt, "char")
    banned = [PAD_ID, UNK_ID, BOS_ID, EOS_ID]
    with torch.no_grad():
        for _ in range(n):
            out, _ = model({"x": torch.tensor([ids])})
            logits = out[0, -1].clone()
            logits[banned] = float("-inf")
            ids.append(int(logits.argmax()))
    slow = "".join(vocab.decode(ids[len(prompt):]))
    assert fast == slow and len(fast) == n


def test_generate_seeds_specials_and_unknown_prompt(corpus):
    b = built_lm(corpus)
    vocab, model = b.bundle.info.vocab, b.model
    a = generate(model, vocab, "the ", 40, temperature=1.5, seed=7, num_samples=3)
    assert a == generate(model, vocab, "the ", 40, temperature=1.5, seed=7, num_samples=3)
    assert a != generate(model, vocab, "the ", 40, temperature=1.5, seed=8, num_samples=3)
    assert all(len(s) == 40 and "<" not in s for s in a)  # no special token is emitted
    assert generate(model, vocab, "", 5, seed=0)[0]  # empty prompt: start of a line
    with pytest.raises(DataError, match=r"never saw.*'Z'.*'€'"):
        generate(model, vocab, "the Z€ fox", 5)
    assert len(generate(model, vocab, "the Z fox", 5, on_unknown="unk", seed=0)[0]) == 5


# -- dataset ----------------------------------------------------------------------------------
def test_contiguous_splits_and_train_vocab(tmp_path):
    path = tmp_path / "c.txt"
    text = "abcab" * 40 + "abcXY" * 8  # X and Y only occur in the last part
    path.write_text(text, encoding="utf-8")
    b = built_lm(path, val=0.1, test=0.1, seq_len=10)
    vocab: Vocab = b.bundle.info.vocab
    assert "X" not in vocab and "Y" not in vocab  # vocabulary from the training part only
    parts = [b.bundle.split(n).ids for n in ("train", "val", "test")]
    assert [len(p) for p in parts] == [192, 24, 24]
    whole = torch.cat(parts)
    decoded = "".join(vocab.decode(whole.tolist()))
    assert decoded == text.replace("X", "<unk>").replace("Y", "<unk>")
    assert b.bundle.stateful is True
    assert b.bundle.info.to_state()["vocab"] == vocab.to_dict()


@pytest.mark.parametrize("streams", [1, 3, 4, 7])
def test_consecutive_batches_continue_every_stream(streams):
    ids = torch.arange(5, 5 + 103)  # (L,) distinct ids make positions checkable
    ts = TokenStreams(ids, seq_len=6).with_streams(streams)
    loader = torch.utils.data.DataLoader(ts, batch_size=streams, shuffle=False)
    rows = [[] for _ in range(streams)]
    for batch in loader:
        assert batch["x"].shape[0] == streams
        assert torch.equal(batch["y"][:, :-1], batch["x"][:, 1:])  # y is x shifted by one
        for b in range(streams):
            rows[b].append(batch["x"][b])
    n = (len(ids) - 1) // streams
    for b in range(streams):  # row b of batch k+1 continues row b of batch k
        assert torch.equal(torch.cat(rows[b]), ids[b * n:(b + 1) * n])
    covered = torch.cat([torch.cat(r) for r in rows])
    assert torch.equal(covered, ids[:streams * n])  # streams are adjacent: nothing skipped


def test_bundle_loader_lays_streams_out_for_its_batch_size(corpus):
    bundle = built_lm(corpus).bundle
    for bs in (2, 5):
        loader = bundle.loader("train", bs)
        first, second = list(loader)[:2]
        assert first["x"].shape == (bs, 20)
        assert torch.equal(first["y"][:, -1], second["x"][:, 0])  # the stream goes on
    with pytest.raises(DataError, match="too few for .* parallel streams"):
        bundle.loader("val", 10_000)


def test_engine_tbptt_chunks_cover_a_batch(corpus):
    batch = next(iter(built_lm(corpus).bundle.loader("train", 4)))
    chunks = list(_chunks(batch, 7))
    assert [c["x"].shape[1] for c in chunks] == [7, 7, 6]
    assert torch.equal(torch.cat([c["x"] for c in chunks], 1), batch["x"])
    assert torch.equal(torch.cat([c["y"] for c in chunks], 1), batch["y"])


def test_builtin_stdlib_corpus():
    spec = lm_spec("builtin:stdlib", max_chars=30_000)
    b = build(load_spec(spec))
    stream = b.bundle.info.facet(TokenStream)
    assert 25_000 < stream.characters <= 30_000
    assert len(b.bundle.info.vocab) > 60 and "def" not in b.bundle.info.vocab  # characters
    assert len(stream.sample_prompts) == 3 and all(stream.sample_prompts)


def test_word_level(corpus):
    b = built_lm(corpus, level="word", seq_len=5)
    vocab = b.bundle.info.vocab
    assert "quick" in vocab and "liquor" in vocab
    assert set(b.task.baseline(b.bundle.test)) == {"bits_per_word", "perplexity", "accuracy"}


def test_sample_prompts_are_line_starts():
    text = "def alpha_beta_gamma(x, y):\n    return x + y\nshort\n" + " " * 30 + "deep(a, b)\n"
    prompts = sample_prompts(list(text), "char")
    assert prompts == ["def alpha_beta_gamma(x, ", "    return x + ", " " * 30 + "deep(a, "]


# -- unigram baseline and metrics -----------------------------------------------------------------
def test_unigram_baseline_by_hand(tmp_path):
    path = tmp_path / "u.txt"
    path.write_text("aaaaaaabbc" * 3 + "abca" * 1 + "abcb", encoding="utf-8")
    b = built_lm(path, val=0, test=0.2, seq_len=4)
    vocab, task = b.bundle.info.vocab, b.task
    train_text = "".join(vocab.decode(b.bundle.train.ids.tolist()))
    test_text = "".join(vocab.decode(b.bundle.test.ids.tolist()))
    counts = Counter(train_text)
    classes = len(vocab) - 3  # every token but <pad>, <bos>, <eos> (so <unk> included)
    total = len(train_text) + classes
    nll = -sum(math.log((counts[c] + 1) / total) for c in test_text[1:]) / (len(test_text) - 1)
    base = task.baseline(b.bundle.test)
    assert base["bits_per_char"] == pytest.approx(nll / math.log(2))
    assert base["perplexity"] == pytest.approx(math.exp(nll))
    top = counts.most_common(1)[0][0]
    assert base["accuracy"] == pytest.approx(test_text[1:].count(top) / (len(test_text) - 1))
    assert task.baseline(b.bundle.val) == {}


def test_metrics_of_a_uniform_model_are_log2_v():
    m = LMMetrics("char")
    y = torch.tensor([[4, 5, 6, PAD_ID], [7, 8, PAD_ID, PAD_ID]])  # padding is not scored
    m.update(torch.zeros(2, 4, 16), {"y": y})
    got = m.compute()
    assert got["bits_per_char"] == pytest.approx(4.0)
    assert got["perplexity"] == pytest.approx(16.0)


# -- bad input ------------------------------------------------------------------------------------
def test_empty_file_is_a_data_error_naming_it(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty.txt.*empty"):
        built_lm(path)


def test_too_short_file_is_a_data_error_naming_it(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("print('hi')\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"short.txt.*too short.*seq_len") as err:
        built_lm(path)
    assert err.value.path == "data.source"


def test_missing_file_and_mixed_sources(tmp_path):
    with pytest.raises(DataError, match="gone.txt.*not found"):
        built_lm(tmp_path / "gone.txt")
    with pytest.raises(SpecError, match="cannot be mixed"):
        load_spec(lm_spec(["builtin:stdlib", "a.txt"]))


def test_cli_exit_2_on_short_file(tmp_path):
    from seqforge.cli import app

    (tmp_path / "short.txt").write_text("x = 1\n", encoding="utf-8")
    spec = tmp_path / "lm.yaml"
    spec.write_text("name: lm\ndata: {dataset: text, source: short.txt, seq_len: 50}\n"
                    "model: {topology: many_to_many, cell: lstm, embedding: 4}\n"
                    "task: language_model\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", str(spec)])
    assert res.exit_code == 2
    assert "short.txt" in res.output and "too short" in res.output
    assert "Traceback" not in res.output


def test_shipped_spec_validates():
    from pathlib import Path

    from seqforge.cli import app

    spec = Path(__file__).resolve().parents[1] / "specs" / "char_lm.yaml"
    res = CliRunner().invoke(app, ["validate", str(spec)])
    assert res.exit_code == 0, res.output
    assert "trial batch ok" in res.output


# -- end to end -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    spec = lm_spec("builtin:stdlib", max_chars=40_000, seq_len=40, val=0.05, test=0.05)
    spec["model"].update(cell="lstm", hidden_size=64, embedding=16)
    spec["task"].update(samples=2, sample_length=60)
    spec["train"].update(epochs=2, batch_size=16, bptt={"truncate": 20},
                         optimizer={"name": "adam", "lr": 1e-2}, clip_grad_norm=1.0)
    return train(load_spec(spec), out=out, quiet=True)


@pytest.mark.slow
def test_tiny_char_lm_beats_unigram(trained):
    s = trained.summary
    assert s["test"]["test_bits_per_char"] < s["baseline"]["bits_per_char"]
    assert s["test"]["test_perplexity"] < s["baseline"]["perplexity"]
    assert s["beats_baseline"]["bits_per_char"]
    # truncated BPTT: each 40-step batch is two 20-step optimizer steps (a shorter tail
    # batch at the end of the streams, one)
    lengths = [b["x"].shape[1] for b in trained.bundle.loader("train", 16)]
    assert lengths[0] == 40 and set(lengths[:-1]) == {40}
    assert s["steps"] == 2 * sum(math.ceil(n / 20) for n in lengths)
    samples = (trained.dir / "samples.txt").read_text(encoding="utf-8")
    assert samples.count("--- sample") == 2
    assert "samples.txt" in s["artifacts"]


@pytest.mark.slow
def test_predict_scores_lines(trained, tmp_path):
    from seqforge.api import predict_file

    inp = tmp_path / "lines.txt"
    inp.write_text("def f(self):\n\n        return None\nzzzzqqqqxxxxjjjj\n", encoding="utf-8")
    out = tmp_path / "pred.csv"
    assert predict_file(trained, inp, out) == 3
    import csv

    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [int(r["line"]) for r in rows] == [1, 3, 4]
    assert int(rows[0]["chars_scored"]) == len("def f(self):") + 1
    bits = [float(r["bits_per_char"]) for r in rows]
    assert bits[2] > bits[1]  # gibberish costs more bits than Python


@pytest.fixture(scope="module")
def cli():
    from seqforge.cli import app
    from seqforge.plugins import add_commands

    add_commands(app)
    return app


@pytest.mark.slow
def test_generate_command(trained, cli):
    runner = CliRunner()
    args = ["generate", str(trained.dir), "--prompt", "    def ", "--length", "50",
            "--temperature", "0.8", "--top-k", "10", "--top-p", "0.95", "--seed", "3"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("    def ") and len(res.stdout.rstrip("\n")) >= len("    def ")
    assert runner.invoke(cli, args).stdout == res.stdout  # seeded: same text
    many = runner.invoke(cli, args[:-2] + ["--num-samples", "2"])
    assert many.exit_code == 0 and many.stdout.count("--- sample") == 2


@pytest.mark.slow
def test_generate_command_bad_input(trained, cli, tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["generate", str(trained.dir), "--prompt", "naïve ☃"])
    assert res.exit_code == 2 and "never saw" in res.output and "☃" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(cli, ["generate", str(tmp_path), "--prompt", "x"])
    assert res.exit_code == 2 and "not a seqforge run directory" in res.output
    res = runner.invoke(cli, ["generate", str(trained.dir), "--top-k", "0"])
    assert res.exit_code == 2
