"""Encoder–decoder seq2seq: the task's metrics, loss, baseline and predictions, end-to-end
training (reversal, addition), the shipped specs and the ``translate`` command."""

from __future__ import annotations

import csv

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from seq2seq_helpers import (
    SPECS,
    build_model,
    bundle_of,
    small_spec,
    write_tsv,
)
from typer.testing import CliRunner

from seqforge.api import dry_run, load_spec, train
from seqforge.cli import app
from seqforge.data.base import pad_collate
from seqforge.data.sources.seq2seq import Seq2SeqDataset, Seq2SeqParams
from seqforge.data.transforms.vocab import EOS_ID, PAD_ID, Vocab
from seqforge.errors import SpecError
from seqforge.inference.beam import greedy_decode
from seqforge.plugins import add_commands
from seqforge.tasks.seq2seq import Seq2Seq, match_counts

# -- task: metrics, loss, baseline, predictions ------------------------------------------------

def test_match_counts_by_hand():
    E, P = EOS_ID, PAD_ID
    y = torch.tensor([[5, 6, E, P], [5, 6, 7, E], [5, E, P, P]])  # 3 + 4 + 2 real tokens
    pred = torch.tensor([[5, 6, E],   # exact: 3 of 3
                         [5, 7, 7],   # wrong 2nd token, no <eos>: 2 of 4
                         [5, 6, 7]])  # runs on past the target's <eos>: 1 of 2
    assert match_counts(pred, y) == (1, 6, 9)
    longer = torch.tensor([[5, 6, E, P, P, P], [5, 6, 7, E, P, P], [5, E, P, P, P, P]])
    assert match_counts(longer, y) == (3, 9, 9)


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(st.text("abc", max_size=5), st.text("abc", min_size=1, max_size=5)),
                      min_size=1, max_size=6))
def test_match_counts_agree_with_string_comparison(pairs):
    """Decoded ids (padded after <eos>) vs targets: exact match is string equality and
    token hits are the positions (<eos> included) where the two agree."""
    vocab = Vocab(list("abc"))

    def padded(strings):
        ids = [torch.tensor(vocab.encode(list(s), add_eos=True)) for s in strings]
        return torch.nn.utils.rnn.pad_sequence(ids, batch_first=True)

    preds, targets = [p for p, _ in pairs], [t for _, t in pairs]
    exact, hit, total = match_counts(padded(preds), padded(targets))
    assert exact == sum(p == t for p, t in zip(preds, targets))
    assert total == sum(len(t) + 1 for t in targets)
    assert hit == sum(a == b for p, t in zip(preds, targets)
                      for a, b in zip(list(p) + ["$"], list(t) + ["$"]))


def test_loss_ignores_padding():
    _, b = bundle_of(source="reversal", n=100)
    task = Seq2Seq(None, b.info)
    batch = pad_collate([b.train[0], b.train[1]])
    out = torch.randn(*batch["y"].shape, len(b.info.target_vocab))
    longer = dict(batch, y=torch.cat([batch["y"], torch.zeros(2, 3, dtype=torch.long)], 1))
    out_longer = torch.cat([out, torch.randn(2, 3, out.shape[-1])], 1)
    torch.testing.assert_close(task.loss(out, batch), task.loss(out_longer, longer))
    assert task.batch_weight(batch) == len(b.train[0]["y"]) + len(b.train[1]["y"])


def test_metrics_decode_free_running_not_from_teacher_forced_outputs():
    _, b = bundle_of(source="reversal", n=100)
    task = Seq2Seq(None, b.info)
    model = build_model("gru", hidden=8, src_vocab=len(b.info.vocab),
                        tgt_vocab=len(b.info.target_vocab))
    batch = pad_collate([b.val[i] for i in range(len(b.val))])
    m = task.new_metrics(model)
    perfect = torch.nn.functional.one_hot(batch["y"], len(b.info.target_vocab)).float() * 50
    m.update(perfect, batch)  # a teacher-forced "perfect" output must not count
    got = m.compute()
    dec = greedy_decode(model, batch, max_length=batch["y"].shape[1])
    exact, hit, total = match_counts(dec.tokens, batch["y"])
    assert got == {"exact_match": exact / len(b.val), "token_accuracy": hit / total}
    assert got["exact_match"] < 0.5


def test_task_refuses_a_model_without_decoding():
    _, b = bundle_of(source="reversal", n=50)
    with pytest.raises(SpecError, match="StepDecoder"):
        Seq2Seq(None, b.info).check_model(torch.nn.Linear(2, 2))
    spec = small_spec("reversal")
    spec["model"] = {"topology": "autoencoder", "cell": "gru"}
    with pytest.raises(SpecError, match="implements StepDecoder.*use 'encoder_decoder'"):
        load_spec(spec)


def test_baseline_copy_input_when_targets_resemble_sources(tmp_path):
    pairs = [(f"ab{c}", f"ab{c}") for c in "cdefghijklmnopqrst"] + [("xyz", "zyx"), ("uvw", "wvu")]
    write_tsv(tmp_path / "p.tsv", pairs)
    _, b = bundle_of(tmp_path, source="p.tsv", val=0.0, test=0.25)
    task = Seq2Seq(None, b.info)
    task.fit(b.train)
    assert task.baseline_name() == "copy_input"
    src, tgt = b.test.columns["src"], b.test.columns["tgt"]
    exact = sum(s == t for s, t in zip(src, tgt)) / len(src)
    assert task.baseline(b.test)["exact_match"] == pytest.approx(exact)


def test_baseline_positional_mode_by_hand(tmp_path):
    train = [("a", "12-1"), ("b", "13-1"), ("c", "12-2"), ("d", "99"), ("e", "12-9")]
    test = [("f", "12-1"), ("g", "55")]
    write_tsv(tmp_path / "p.tsv", train + test)
    src = Seq2SeqDataset(Seq2SeqParams(source="p.tsv", val=0, test=0.3), base_dir=tmp_path)
    src.pairs = lambda: train + test  # fix the order: no shuffle
    b = src.load()
    task = Seq2Seq(None, b.info)
    task.fit(b.train)
    assert task.state_dict() == {"baseline_rule": "positional_mode", "positional_mode": "12-1"}
    # "12-1" vs "12-1": exact, 5/5 tokens; vs "55": 0 of 3 tokens ("5","5",<eos>)
    assert task.baseline(b.test) == {"exact_match": 0.5, "token_accuracy": 5 / 8}


def test_predict_rows_greedy_and_beam():
    _, b = bundle_of(source="reversal", n=60)
    task = Seq2Seq(None, b.info)
    model = build_model("gru", hidden=8, src_vocab=len(b.info.vocab),
                        tgt_vocab=len(b.info.target_vocab), attention="dot")
    batch = pad_collate([b.test[i] for i in range(3)])
    rows = task.predict(model, batch)
    assert [r["source"] for r in rows] == batch["src"] and "score" not in rows[0]
    assert all(set(r["prediction"]) <= set("abcdefghij") for r in rows)
    assert [r["correct"] for r in rows] == [r["prediction"] == r["target"] for r in rows]
    beam = task.predict(model, {"x": batch["x"], "lengths": batch["lengths"]}, beam=3)
    assert [r["source"] for r in beam] == batch["src"] and all(r["score"] <= 0 for r in beam)


# -- end to end -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reversal_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return train(load_spec(small_spec("reversal", n=2000)), out=out, quiet=True)


@pytest.mark.slow
def test_reversal_learns_and_beats_baseline(reversal_run):
    s = reversal_run.summary
    assert s["test"]["test_exact_match"] >= 0.9
    assert s["test"]["test_token_accuracy"] >= 0.95
    assert s["baseline"]["exact_match"] < 0.2 and all(s["beats_baseline"].values())
    assert s["monitor"] == "val_exact_match"
    files = set(s["artifacts"])
    assert {"predictions.csv", "attention.png"} <= files
    with open(reversal_run.dir / "predictions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(reversal_run.bundle.test)
    acc = sum(r["correct"] == "True" for r in rows) / len(rows)
    assert acc == pytest.approx(s["test"]["test_exact_match"])  # greedy both


@pytest.mark.slow
def test_addition_learns_and_beats_baseline():
    """Two-digit operands: a bidirectional encoder finds place values, additive attention
    aligns the digits (about a minute on a busy 2-core machine)."""
    spec = small_spec("addition", n=5000, max_digits=2)
    spec["model"].update(bidirectional=True, attention="additive", init="orthogonal")
    spec["train"].update(epochs=10, batch_size=32, optimizer={"name": "adam", "lr": 8e-3},
                         scheduler={"name": "cosine"})
    run = train(load_spec(spec), out=None, quiet=True)
    test, base = run.summary["test"], run.summary["baseline"]
    assert test["test_exact_match"] >= 0.9, run.summary
    assert base["name"] == "positional_mode" and base["exact_match"] < 0.05
    assert all(run.summary["beats_baseline"].values())


@pytest.mark.parametrize("name", sorted(SPECS))
def test_shipped_specs_validate_and_run_a_trial_batch(name):
    spec = load_spec(SPECS[name], overrides=["data.n=200"])
    assert spec.model.topology.params.attention != "none"
    info = dry_run(spec)
    assert info["loss"] > 0


# -- the translate and predict commands --------------------------------------------------------

@pytest.fixture(scope="module")
def cli():
    add_commands(app)
    return CliRunner()


@pytest.mark.slow
def test_translate_command(reversal_run, cli, tmp_path):
    run_dir = str(reversal_run.dir)
    res = cli.invoke(app, ["translate", run_dir, "abcdef", "jjiha"])
    assert res.exit_code == 0, res.output
    assert "abcdef → fedcba" in res.output and "jjiha → ahijj" in res.output
    res = cli.invoke(app, ["translate", run_dir, "abcdef", "--beam", "3"])
    assert res.exit_code == 0 and "abcdef → fedcba  (score " in res.output
    f = tmp_path / "in.txt"
    f.write_text("abc\ndcba\n", encoding="utf-8")
    out = tmp_path / "t.csv"
    res = cli.invoke(app, ["translate", run_dir, "--input", str(f), "--beam", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert [r["source"] for r in rows] == ["abc", "dcba"] and "score" in rows[0]
    res = cli.invoke(app, ["predict", run_dir, "--input", str(f)])
    assert res.exit_code == 0 and "abc,cba" in res.output


@pytest.mark.slow
@pytest.mark.parametrize("args,expect", [
    (["abcz"], "characters 'z' never occur"),
    ([], "nothing to translate"),
    (["--input", "no/such.txt"], "input file not found"),
    (["abc", "--beam", "0"], "Invalid value"),
])
def test_translate_errors_exit_2(reversal_run, cli, args, expect):
    res = cli.invoke(app, ["translate", str(reversal_run.dir), *args])
    assert res.exit_code == 2, res.output
    assert expect in res.output and "Traceback" not in res.output


def test_translate_on_a_non_run_exits_2(cli, tmp_path):
    res = cli.invoke(app, ["translate", str(tmp_path), "abc"])
    assert res.exit_code == 2 and "not a seqforge run directory" in res.output


@pytest.mark.parametrize("override,expect", [
    ("data.source=missing.tsv", "file not found"),
    ("data.n=0", "greater than or equal to 1"),
    ("data.source=datez", "neither a generator"),
    ("data.val=0.9", "leaves nothing to train on"),  # refused with the spec, before reading
])
def test_bad_specs_exit_2(cli, override, expect):
    res = cli.invoke(app, ["validate", str(SPECS["reversal"]), "--set", override])
    assert res.exit_code == 2, res.output
    assert expect in res.output and "Traceback" not in res.output
