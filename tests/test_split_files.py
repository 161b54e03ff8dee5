"""Fixed split files for seq2seq pair files (``train``, optional ``val``, ``test``): what
is cut from the training file, overlaps dropped and counted, files read as ``evaluate
--data FILE`` reads them (unknown characters: file and line; a test file that is the
training file has nothing left to score), and a whole run scoring exactly the test file."""

from __future__ import annotations

import pytest

from seqforge.api import evaluate_run, load_spec, train
from seqforge.data.facets import Pairs
from seqforge.data.sources.seq2seq import Seq2SeqDataset, Seq2SeqParams
from seqforge.errors import DataError


def write_pairs(path, words):
    path.write_text("".join(f"{w}\t{w[::-1]}\n" for w in words), encoding="utf-8")
    return path


def words(n, start=0, letters="abcde"):
    """n distinct 4-letter words (the start-th on)."""
    return ["".join(letters[(i // 5 ** k) % 5] for k in range(4)) for i in range(start, start + n)]


def load(tmp_path, **params):
    return Seq2SeqDataset(Seq2SeqParams(**params), base_dir=tmp_path, seed=0).load()


def test_train_and_test_files(tmp_path):
    write_pairs(tmp_path / "tr.tsv", words(80))
    write_pairs(tmp_path / "te.tsv", words(20, start=70))  # 10 sources also in training
    b = load(tmp_path, train="tr.tsv", test="te.tsv", val=0.25)
    assert (len(b.train), len(b.val)) == (60, 20)  # val: a fraction of the training file
    train_src = set(b.train.columns["src"])
    assert not set(b.val.columns["src"]) & train_src
    # a test source seen in training or validation is dropped, and counted
    assert not set(b.test.columns["src"]) & (train_src | set(b.val.columns["src"]))
    pairs = b.info.facet(Pairs)
    assert len(b.test) == 20 - pairs.dropped_overlap["test"] and pairs.dropped_overlap["test"] >= 10
    assert b.test.columns["tgt"][0] == b.test.columns["src"][0][::-1]
    assert not b.notes


def test_val_and_test_files_cut_nothing_from_training(tmp_path):
    write_pairs(tmp_path / "tr.tsv", words(50))
    write_pairs(tmp_path / "va.tsv", words(10, start=50))
    write_pairs(tmp_path / "te.csv", [])  # replaced below by a CSV with its own columns
    (tmp_path / "te.csv").write_text("en,fr\n" + "".join(f"{w},{w[::-1]}\n"
                                                          for w in words(7, start=60)))
    b = load(tmp_path, train="tr.tsv", val="va.tsv", test="te.csv", source_column="en",
             target_column="fr")
    assert (len(b.train), len(b.val), len(b.test)) == (50, 10, 7)
    # the params as spec.resolved.yaml writes them back load the same pairs
    again = Seq2SeqParams.model_validate(Seq2SeqParams(
        train="tr.tsv", val="va.tsv", test="te.csv", source_column="en",
        target_column="fr").model_dump(mode="json"))
    assert again.source == "tr.tsv"


def test_split_file_errors(tmp_path):
    write_pairs(tmp_path / "tr.tsv", words(40))
    write_pairs(tmp_path / "te.tsv", ["abcd", "abxd"])
    with pytest.raises(DataError, match=r"te\.tsv \(line 2\): characters 'x' never occur"):
        load(tmp_path, train="tr.tsv", test="te.tsv")
    write_pairs(tmp_path / "old.tsv", words(5))
    with pytest.raises(DataError, match="every test source also occurs in an earlier split"):
        load(tmp_path, train="tr.tsv", test="old.tsv", val=0)
    with pytest.raises(ValueError, match="both name the training pairs"):
        Seq2SeqParams(source="other.tsv", train="tr.tsv")
    with pytest.raises(ValueError, match="chosen on the test data"):
        Seq2SeqParams(train="tr.tsv", val="te.tsv", test="te.tsv")
    # the training file as test file: every source seen in training, so nothing to score
    with pytest.raises(DataError, match=r"tr\.tsv: every test source also occurs"):
        load(tmp_path, train="tr.tsv", test="tr.tsv", val=0.2)


@pytest.mark.slow
def test_seq2seq_run_from_split_files_scores_the_whole_test_file(tmp_path):
    write_pairs(tmp_path / "tr.tsv", words(120))
    write_pairs(tmp_path / "te.tsv", words(30, start=200))
    spec = load_spec({
        "name": "pairs", "seed": 0,
        "data": {"dataset": "seq2seq", "train": "tr.tsv", "test": "te.tsv", "val": 0.1},
        "model": {"topology": "encoder_decoder", "cell": "gru", "embedding": 8,
                  "hidden_size": 16, "max_length": 8},
        "task": "seq2seq",
        "train": {"epochs": 1, "batch_size": 32, "device": "cpu", "threads": 1}},
        base_dir=tmp_path)
    run = train(spec, out=tmp_path / "runs")
    assert "test_exact_match" in run.summary["test"]
    res = evaluate_run(run.dir, data=[str(tmp_path / "te.tsv")])
    assert res["examples"] == 30
