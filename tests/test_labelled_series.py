"""labelled_series: the .ts, archive CSV/TSV and long formats, fixed split files, scoring
whole files, and bad input (file and line named, exit 2)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from seqforge.api import evaluate_run, load_run, load_spec, train
from seqforge.cli import app
from seqforge.data.facets import Channels, Classes
from seqforge.data.io.labelled_series import read_long_table, read_ucr_table
from seqforge.data.io.ts_format import read_ts
from seqforge.data.sources.labelled_series import LabelledSeries, LabelledSeriesParams
from seqforge.errors import DataError, SpecError

runner = CliRunner()


def shapes(n: int, seed: int, length: int = 24, noise: float = 0.3):
    """Two classes of series: a rising ramp ('up') or a bump ('bump'), noisy."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, length)
    out = []
    for i in range(n):
        label = "up" if i % 2 else "bump"
        base = t if label == "up" else np.exp(-((t - 0.5) ** 2) / 0.02)
        out.append((base + noise * rng.normal(size=length), label))
    return out


def write_ts(path: Path, series, *, header_dims: int = 1, equal: bool = True) -> Path:
    labels = sorted({lab for _, lab in series})
    head = ["@problemName toy", "@timeStamps false", "@missing false",
            f"@univariate {'true' if header_dims == 1 else 'false'}",
            f"@dimensions {header_dims}", f"@equalLength {'true' if equal else 'false'}",
            f"@seriesLength {len(series[0][0])}", f"@classLabel true {' '.join(labels)}",
            "@data"]
    body = [",".join(f"{v:.5f}" for v in x) + f":{lab}" for x, lab in series]
    path.write_text("# a toy problem\n" + "\n".join(head + body) + "\n", encoding="utf-8")
    return path


def write_ucr(path: Path, series, sep: str = "\t", label_map=None) -> Path:
    rows = [sep.join([label_map[lab] if label_map else lab] + [f"{v:.5f}" for v in x])
            for x, lab in series]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_long(path: Path, series) -> Path:
    lines = ["id,t,a,b,label"]
    for k, (x, lab) in enumerate(series):
        for t in reversed(range(len(x))):  # out of order on purpose: sorted by t
            lines.append(f"s{k},{t},{x[t]:.5f},{-x[t]:.5f},{lab}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def spec(train_file: str, **data) -> dict:
    return {"name": "toy_series", "seed": 0,
            "data": {"dataset": "labelled_series", "train": train_file, **data},
            "model": {"topology": "many_to_one", "cell": "gru", "hidden_size": 16,
                      "pooling": "mean"},
            "task": "classify",
            "train": {"epochs": 8, "batch_size": 8, "optimizer": {"name": "adam", "lr": 1e-2},
                      "device": "cpu", "threads": 1}}


# ----------------------------------------------------------------------------- readers


def test_formats_read_the_same_series(tmp_path):
    data = shapes(10, 0)
    ts = read_ts(write_ts(tmp_path / "a.ts", data))
    tsv = read_ucr_table(write_ucr(tmp_path / "a.tsv", data, label_map={"up": "1", "bump": "-1"}))
    csv_ = read_ucr_table(write_ucr(tmp_path / "a.csv", data, sep=","))
    long_ = read_long_table(write_long(tmp_path / "l.csv", data), id_column="id",
                            label_column="label", time_column="t", channels=None)
    for got in (ts, tsv, csv_):
        assert len(got.series) == 10 and got.series[0].shape == (24, 1)
        np.testing.assert_allclose(got.series[3][:, 0], data[3][0], atol=1e-4)
    assert ts.labels == [lab for _, lab in data] and tsv.labels[:2] == ["-1", "1"]
    assert long_.channels == ["a", "b"] and long_.series[3].shape == (24, 2)
    np.testing.assert_allclose(long_.series[3][:, 0], data[3][0], atol=1e-4)  # sorted by t
    assert ts.lines[0] == 11  # the first data line, after a comment and 9 header lines


def test_variable_length_and_nan_padding(tmp_path):
    (tmp_path / "v.tsv").write_text("1\t1\t2\t3\tNaN\tNaN\n2.0\t4\t5\t6\t7\t8\n", encoding="utf-8")
    got = read_ucr_table(tmp_path / "v.tsv")
    assert [x.shape[0] for x in got.series] == [3, 5] and got.labels == ["1", "2"]


@pytest.mark.parametrize("body, match", [
    ("@classLabel true a\n@dimensions 2\n@data\n1,2,3:a\n", r"1 channels but @dimensions says 2 \(line 2\)"),
    ("@classLabel true a\n@equalLength true\n@seriesLength 4\n@data\n1,2,3:a\n", r"3 steps .* @seriesLength 4"),
    ("@classLabel true a\n@univariate true\n@data\n1,2:3,4:a\n", "@univariate is true"),
    ("@classLabel true a\n@missing false\n@data\n1,?,3:a\n", "@missing is false"),
    ("@classLabel true a b\n@data\n1,2:c\n", "label 'c' is not among @classLabel"),
    ("@classLabel true a\n@data\n1,2:3:a\n", "channels of this series have different lengths"),
    ("@classLabel true a\n@data\n1,x,3:a\n", "value 'x' in channel 1 is not a number"),
    ("@classLabel true a\n@data\n:a\n", "empty"),
    ("1,2,3\n", "expected a header tag"),
])
def test_ts_header_contradicting_data(tmp_path, body, match):
    (tmp_path / "bad.ts").write_text(body, encoding="utf-8")
    with pytest.raises(DataError, match=match) as info:
        read_ts(tmp_path / "bad.ts")
    assert "bad.ts (line" in str(info.value)


@pytest.mark.parametrize("content, match", [
    ("1\t1\t2\n2\t3\tfoo\n", r"line 2\): value 'foo' is not a number"),
    ("1\t1\t2\n\t3\t4\n", r"line 2\): the label cell is empty"),
    ("1\n", "the series is empty"),
    ("", "file is empty"),
])
def test_ucr_table_errors_name_the_line(tmp_path, content, match):
    (tmp_path / "bad.tsv").write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=match):
        read_ucr_table(tmp_path / "bad.tsv")


def test_long_format_errors(tmp_path):
    (tmp_path / "l.csv").write_text("id,t,a,label\ns1,0,1,x\ns1,1,2,y\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 2\): series 's1' has more than one label"):
        read_long_table(tmp_path / "l.csv", id_column="id", label_column="label",
                        time_column="t", channels=None)
    (tmp_path / "d.csv").write_text("id,t,a,label\ns1,0,1,x\ns1,0,2,x\n", encoding="utf-8")
    with pytest.raises(DataError, match="two rows at the same time"):
        read_long_table(tmp_path / "d.csv", id_column="id", label_column="label",
                        time_column="t", channels=None)


# ----------------------------------------------------------------------------- splits


def test_fixed_files_fraction_val_and_normalisation(tmp_path):
    write_ts(tmp_path / "tr.ts", shapes(40, 0))
    write_ts(tmp_path / "te.ts", shapes(14, 1))
    p = LabelledSeriesParams(train="tr.ts", test="te.ts", val=0.25)
    b = LabelledSeries(p, base_dir=tmp_path).load()
    assert (len(b.train), len(b.val), len(b.test)) == (30, 10, 14)  # val: a stratified 1/4
    assert sorted(b.val.columns["y"].tolist()) == [0] * 5 + [1] * 5
    x = b.test.columns["x"][0]
    assert abs(float(x.mean())) < 1e-5 and abs(float(x.std(unbiased=False)) - 1) < 1e-4
    assert b.info.facet(Channels).names == ["dim_0"]
    # a val file of its own: nothing is cut from the training file
    write_ts(tmp_path / "va.ts", shapes(6, 2))
    b2 = LabelledSeries(LabelledSeriesParams(train="tr.ts", val="va.ts", test="te.ts"),
                        base_dir=tmp_path).load()
    assert (len(b2.train), len(b2.val), len(b2.test)) == (40, 6, 14)
    # global normalisation: one scaler from the training split, saved in the facet
    g = LabelledSeries(p.model_copy(update={"normalize": "global"}), base_dir=tmp_path).load()
    assert g.info.facet(Channels).scaler is not None


def test_split_file_errors_and_warnings(tmp_path):
    write_ts(tmp_path / "tr.ts", shapes(20, 0))
    with pytest.raises(ValueError, match="the best epoch would be chosen on the test data"):
        LabelledSeriesParams(train="tr.ts", val="x.ts", test="x.ts")
    with warnings.catch_warnings():  # a note for the run to print, not a Python warning
        warnings.simplefilter("error")
        same = LabelledSeries(LabelledSeriesParams(train="tr.ts", test="tr.ts"),
                              base_dir=tmp_path).load()
    assert [n.split(" (")[0] for n in same.notes] == ["data.test is the training file"]
    # a test label the training file never had: the test file and its line
    write_ts(tmp_path / "te.ts", shapes(4, 1)[:3] + [(np.zeros(24), "flat")])
    with pytest.raises(DataError, match=r"te.ts \(line 14\): label 'flat' was not seen"):
        LabelledSeries(LabelledSeriesParams(train="tr.ts", test="te.ts"), base_dir=tmp_path).load()
    # a test file with another number of channels
    write_long(tmp_path / "two.csv", shapes(4, 1))
    with pytest.raises(DataError, match=r"3 channel\(s\) but the model was trained on 1"):
        LabelledSeries(LabelledSeriesParams(train="tr.ts", test="two.csv"),
                       base_dir=tmp_path).load()
    # a training file with one class only
    write_ts(tmp_path / "one.ts", [(x, "up") for x, _ in shapes(6, 0)])
    with pytest.raises(DataError, match="at least two classes"):
        LabelledSeries(LabelledSeriesParams(train="one.ts"), base_dir=tmp_path).load()


def test_spec_selecting_epochs_on_test_data_is_refused(tmp_path):
    s = spec("tr.ts")
    s["train"]["early_stopping"] = {"monitor": "test_accuracy"}
    with pytest.raises(SpecError, match="choose the best epoch on the test data"):
        load_spec(s, base_dir=tmp_path)
    s = spec("tr.ts", val="te.ts", test="te.ts")
    with pytest.raises(SpecError, match=r"data.*the best epoch would be chosen on the test"):
        load_spec(s, base_dir=tmp_path)


# ----------------------------------------------------------------------------- end to end


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["ts", "ucr", "long"])
def test_each_format_trains_and_scores_whole_files(tmp_path, fmt):
    writers = {"ts": (write_ts, "ts"), "ucr": (write_ucr, "tsv"), "long": (write_long, "csv")}
    write, ext = writers[fmt]
    write(tmp_path / f"tr.{ext}", shapes(40, 0))
    write(tmp_path / f"te.{ext}", shapes(16, 1))
    other = write(tmp_path / f"other.{ext}", shapes(23, 5))
    s = spec(f"tr.{ext}", test=f"te.{ext}", val=0.2)
    run = train(load_spec(s, base_dir=tmp_path), out=tmp_path / "runs")
    sm = run.summary
    assert sm["test"]["test_accuracy"] >= 0.9
    names = [b["name"] for b in sm["baselines"]]
    assert names == ["majority class", "1-NN Euclidean", "1-NN DTW"]
    assert sm["baseline"]["name"] in names and sm["baseline"]["accuracy"] == \
        max(b["accuracy"] for b in sm["baselines"])
    # a whole other file, from the loaded run directory alone: every row scored
    res = evaluate_run(run.dir, data=[str(other)])
    assert res["examples"] == 23 and len(res["baselines"]) == 3
    assert res["model"]["test_accuracy"] == pytest.approx(
        np.mean([r["label"] == r["true_label"]
                 for r in load_run(run.dir).predict(other)]))
    cli = runner.invoke(app, ["evaluate", str(run.dir), "--data", str(other)])
    assert cli.exit_code == 0, cli.output
    assert "1-NN" in cli.output or "majority" in cli.output


@pytest.mark.slow
def test_cli_warns_when_the_test_file_is_the_training_file(tmp_path):
    write_ts(tmp_path / "tr.ts", shapes(12, 0))
    s = spec("tr.ts", test="tr.ts", val=0)
    s["train"]["epochs"] = 1
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(s), encoding="utf-8")
    for quiet in ([], ["-q"]):  # printed before training, or after it with -q
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = runner.invoke(app, ["run", str(tmp_path / "s.yaml"), "--out",
                                      str(tmp_path / "r"), *quiet])
        assert res.exit_code == 0, res.output
        assert res.output.count("warning: data.test is the training file") == 1, res.output
        assert "UserWarning" not in res.output and "warnings.warn" not in res.output
        # every baseline's accuracy under the table, the strongest (its column) marked
        line = res.output.split("baselines by accuracy: ")[1].replace("\n", " ")
        assert "majority class" in line and "1-NN Euclidean" in line and "1-NN DTW" in line
        assert line.count("(strongest)") == 1
    run_dir = sorted(p.parent for p in (tmp_path / "r").rglob("summary.json"))[-1]
    assert "data.test is the training file" in yaml.safe_load(
        (run_dir / "summary.json").read_text())["notes"][0]


def test_cli_bad_series_file_exits_2(tmp_path):
    (tmp_path / "tr.ts").write_text("@classLabel true a b\n@dimensions 3\n@data\n1,2:b\n",
                                    encoding="utf-8")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec("tr.ts")), encoding="utf-8")
    res = runner.invoke(app, ["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "r"), "-q"])
    assert res.exit_code == 2, res.output
    assert "tr.ts (line 4)" in res.output and "@dimensions says 3" in res.output
    assert "Traceback" not in res.output


def test_select_last_without_validation(tmp_path):
    write_ts(tmp_path / "tr.ts", shapes(20, 0))
    s = spec("tr.ts", val=0, test=0.25)
    s["train"].update(epochs=3, select="last")
    run = train(load_spec(s, base_dir=tmp_path), out=tmp_path / "runs")
    assert "notes" not in run.summary and not run.notes
    assert run.summary["best_epoch"] == 3 and run.summary["selected_by"] == "epoch"
    s["train"]["select"] = "auto"
    run = train(load_spec(s, base_dir=tmp_path), out=tmp_path / "runs")
    assert run.summary["selected_by"] == "train_loss"  # the documented default


def test_class_names_facet():
    p = LabelledSeriesParams(train="builtin:aeon/BasicMotions/BasicMotions_TRAIN.ts")
    pytest.importorskip("aeon", reason="seqforge[series] not installed") if False else None
    try:
        b = LabelledSeries(p).load()
    except DataError as exc:
        pytest.skip(str(exc))
    assert b.info.facet(Classes).names == ["Badminton", "Running", "Standing", "Walking"]
    assert b.info.n_features == 6
    with pytest.raises(DataError, match="did you mean builtin:aeon/BasicMotions/BasicMotions_TEST"):
        LabelledSeries(LabelledSeriesParams(
            train="builtin:aeon/BasicMotions/BasicMotions_TSET.ts")).load()


def test_tables_in_memory_are_read_as_the_long_format(tmp_path):
    from seqforge.data.io.table import as_table

    write_ts(tmp_path / "tr.ts", shapes(10, 0))
    src = LabelledSeries(LabelledSeriesParams(train="tr.ts", val=0, test=0), base_dir=tmp_path)
    b = src.load()
    (x, lab), (x2, _) = shapes(2, 3)
    rows = {"id": ["a"] * 24 + ["b"] * 24, "dim_0": [*x, *x2], "label": [lab] * 24 + ["up"] * 24}
    items = src.read_inputs(as_table(rows), b.info, targets=True)
    assert [tuple(it["x"].shape) for it in items] == [(24, 1), (24, 1)]
    assert torch.equal(items[0]["x"], src.prepare(x[:, None].astype(np.float32), b.info))
    # prediction needs no label; scoring does, and says which columns there are
    assert "y" not in src.read_inputs(as_table({k: rows[k] for k in ("id", "dim_0")}),
                                      b.info)[0]
    with pytest.raises(DataError, match="no column 'label'"):
        src.read_inputs(as_table({k: rows[k] for k in ("id", "dim_0")}), b.info, targets=True)
    with pytest.raises(DataError, match="no column 'dim_0'"):
        src.read_inputs(as_table({"id": rows["id"], "value": rows["dim_0"]}), b.info)
    # the contract kit's example table reads back as the bundle's own test series
    table = src.example_inputs(b)
    assert [int(it["y"]) for it in src.read_inputs(table, b.info, targets=True)] == \
        [int(b.train[i]["y"]) for i in range(3)]
