"""A hostile user's tour: hundreds of bad inputs and faults through every command, counted.

Each case is a command line a user could type — a broken spec, a typo'd option, a corrupt
run directory, a file that is not what it claims — run in-process through the CLI. The
script reports how many cases ended as they should (exit 2 with a message, or 3 for a
diverged run) and how many ended in a Python traceback or a silent exit 0. This is the
measurement behind issue 15's counts; the tests (`tests/test_faults_*.py`) hold one case
of each class so a regression fails CI.

Run: python bench/bench_bad_inputs.py [--show]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

import torch
import yaml
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from engine_helpers import forecast_spec, no_plots, write_series  # noqa: E402

from seqforge.api import train  # noqa: E402
from seqforge.cli import app  # noqa: E402
from seqforge.plugins import add_commands  # noqa: E402

add_commands(app)
STOCK = str(ROOT / "specs" / "stock_lstm.yaml")

SPEC_SETS = [
    "model.cell=lstn", "model.hidden_size=true", "model.hidden_size='8'", "model.hidden_size=0",
    "model.hidden_size=22000", "model.num_layers=-1", "model.dropout=1.5", "model.topology=nope",
    "model.bidirectional=maybe", "task=classify", "task=nope", "data.window=0",
    "data.window=5000", "data.horizon=0", "data.target=Clsoe", "data.source=missing.csv",
    "data.scaler=robust", "data.val=0.9", "data.test=1", "data.transform=[{kind: log}]",
    "data.quantiles=[0.9, 0.1]", "train.epochz=3", "train.epochs=0", "train.batch_size=0",
    "train.optimizer.lr=-1", "train.optimizer.name=adamm", "train.scheduler.name=nope",
    "train.bptt.truncate=0", "train.device=tpu", "train.precision=fp8", "train.threads=0",
    "train.loggers=[wandb]", "train.early_stopping.patience=0", "seed=-1", "name=a/b",
    "extends=nope.yaml", "train.nan_policy=ignore", "train.max_skipped_fraction=2",
]

SPEC_TEXTS = {
    "empty": "", "a list": "- a\n- b\n", "a scalar": "42\n", "tab indent": "name: x\n\tdata: 1\n",
    "python tag": "!!python/object/apply:os.system ['true']\n",
    "alias bomb": "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                  "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                  "e: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n",
    "deep nesting": "a: " + "[" * 200 + "]" * 200 + "\n",
    "binary": "\x00\x01\x02\xff", "unknown section": "name: x\ndat: {}\n",
    "no task": "name: x\ndata: {dataset: digits}\nmodel: {topology: many_to_one, cell: gru}\n",
}


def cases(tmp: Path, run_dir: Path, series: Path):
    """(label, argv) for every hostile input."""
    for s in SPEC_SETS:  # data keys are checked against the data: with the trial batch
        dry = [] if s.startswith("data.") else ["--no-dry-run"]
        yield f"validate --set {s}", ["validate", STOCK, *dry, "--set", s]
    for name, text in SPEC_TEXTS.items():
        f = tmp / f"spec_{abs(hash(name))}.yaml"
        f.write_text(text, encoding="utf-8", errors="surrogateescape")
        yield f"validate ({name})", ["validate", str(f)]
    yield "validate a directory", ["validate", str(tmp)]
    yield "validate a missing file", ["validate", str(tmp / "none.yaml")]
    big = tmp / "big.yaml"
    big.write_text("a: [" + "1," * 600_000 + "1]\n")
    yield "validate a 1.2 MB spec", ["validate", str(big)]
    fifo = tmp / "fifo.yaml"
    os.mkfifo(fifo)
    yield "validate a FIFO", ["validate", str(fifo)]
    yield "validate /dev/zero", ["validate", "/dev/zero"]
    a_file = tmp / "a_file"
    a_file.write_text("x")
    for opt, val in [("--device", "tpu"), ("--device", "cuda:x"), ("--nproc", "0"),
                     ("--nproc", "-1"), ("--nproc", "3"), ("--out", str(a_file)),
                     ("--set", "noequals"), ("--set", "=3"), ("--resume", str(tmp / "none"))]:
        yield f"run {opt} {val}", ["run", STOCK, opt, val, "-q", "--set", "train.epochs=1"]
    inputs = {
        "missing": tmp / "none.csv", "directory": tmp, "empty": _write(tmp / "e.csv", ""),
        "binary": _write_bytes(tmp / "b.csv", b"\x00\xff" * 50),
        "no value column": _write(tmp / "nv.csv", "step,other\n1,2\n"),
        "text values": _write(tmp / "tv.csv", "step,value\n" + "1,abc\n" * 30),
        "too short": _write(tmp / "ts.csv", "step,value\n1,2\n"),
        "huge": _write(tmp / "h.csv", "step,value\n" + "".join(f"{i},1e30\n" for i in range(30))),
        "ragged": _write(tmp / "r.csv", "step,value\n1,2,3\n"),
    }
    for label, path in inputs.items():
        yield f"predict ({label} input)", ["predict", str(run_dir), "--input", str(path)]
    yield "predict --out = --input", ["predict", str(run_dir), "--input", str(series),
                                      "--out", str(series)]
    yield "predict --out a directory", ["predict", str(run_dir), "--input", str(series),
                                        "--out", str(tmp)]
    yield "predict --out in a missing folder", ["predict", str(run_dir), "--input", str(series),
                                                "--out", str(tmp / "no" / "p.csv")]
    for label, argv in [("--split tset", ["--split", "tset"]), ("--split bogus", ["--split", "x"]),
                        ("--device tpu", ["--device", "tpu"]),
                        ("--data window=x", ["--data", "window=x"]),
                        ("--data source=missing", ["--data", "source=none.csv"]),
                        ("--data missing file", ["--data", str(tmp / "none.csv")]),
                        ("--data two files", ["--data", str(series), "--data", str(series)])]:
        yield f"evaluate {label}", ["evaluate", str(run_dir), *argv]
    for label, argv in [("--format onxx", ["--format", "onxx"]), ("--out a file", ["--out", str(a_file)])]:
        yield f"export {label}", ["export", str(run_dir), *argv]
    for cmd in ("predict", "evaluate", "export", "serve", "backtest"):
        for target in (tmp / "none", tmp, a_file):
            extra = ["--input", str(series)] if cmd == "predict" else []
            yield f"{cmd} on {target.name or 'a folder'}", [cmd, str(target), *extra]
    yield "generate on a forecast run", ["generate", str(run_dir)]
    yield "generate --length 10**9", ["generate", str(run_dir), "--length", "1000000000"]
    yield "translate on a forecast run", ["translate", str(run_dir), "abc"]
    yield "backtest --folds 0", ["backtest", str(run_dir), "--folds", "0"]
    yield "backtest --folds 10000", ["backtest", str(run_dir), "--folds", "10000"]
    yield "schema --out into a missing folder", ["schema", "--out", str(tmp / "no" / "s.json")]
    yield "runs on a file", ["runs", str(a_file)]
    yield "runs --sort tset", ["runs", str(tmp), "--sort", "tset"]
    yield "serve --port 70000", ["serve", str(run_dir), "--port", "70000"]
    yield "tune a spec without tune:", ["tune", STOCK]
    yield "unknown command", ["trian", STOCK]
    yield from _corrupt_run_dirs(tmp, run_dir, series)


def _corrupt_run_dirs(tmp: Path, run_dir: Path, series: Path):
    damage = {
        "summary.json truncated": ("summary.json", '{"name": '),
        "origin.json a list": ("origin.json", "[]"), "metrics.jsonl binary": ("metrics.jsonl", b"\x00\xff\xfe\x00"),
        "spec.resolved.yaml garbage": ("spec.resolved.yaml", "::: not yaml :::\n\t-"),
        "spec.resolved.yaml edited": ("spec.resolved.yaml", None),
        "best.pt truncated": ("checkpoints/best.pt", b"PK\x03\x04"),
        "best.pt a list": ("checkpoints/best.pt", [1, 2]),
        "best.pt no model": ("checkpoints/best.pt", "drop:model"),
        "best.pt wrong format": ("checkpoints/best.pt", "format"),
        "best.pt other weights": ("checkpoints/best.pt", "shapes"),
        "checkpoints missing": ("checkpoints", "rmdir"),
    }
    for label, (rel, how) in damage.items():
        d = tmp / f"run_{abs(hash(label))}"
        shutil.copytree(run_dir, d)
        _damage(d / rel, how)
        for cmd in (["predict", str(d), "--input", str(series)], ["evaluate", str(d)],
                    ["export", str(d), "--out", str(d / "x")]):
            yield f"{cmd[0]} with {label}", cmd


def _damage(path: Path, how) -> None:
    if how == "rmdir":
        shutil.rmtree(path)
    elif how is None:  # an edited spec: another window
        spec = yaml.safe_load(path.read_text())
        spec["data"]["window"] += 1
        path.write_text(yaml.safe_dump(spec))
    elif isinstance(how, bytes):
        path.write_bytes(how)
    elif isinstance(how, list):
        torch.save(how, path)
    elif how in ("drop:model", "format", "shapes"):
        ck = torch.load(path, weights_only=True)
        if how == "drop:model":
            del ck["model"]
        elif how == "format":
            ck["format"] = "other/1"
        else:
            ck["model"] = {k: torch.zeros(*(s + 1 for s in v.shape)) for k, v in ck["model"].items()}
        torch.save(ck, path)
    else:
        path.write_text(how, encoding="utf-8", errors="surrogateescape")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


#: auxiliary files a run can do without: using the run goes on, with a warning naming them
NOTED = ("summary.json truncated", "origin.json a list", "metrics.jsonl binary")


def run_case(argv: list[str]) -> tuple[int, bool, str]:
    """(exit code, ended in a traceback, output)."""
    res = CliRunner().invoke(app, argv)
    crashed = res.exception is not None and not isinstance(res.exception, SystemExit)
    text = res.output + ("".join(traceback.format_exception(res.exception)) if crashed else "")
    return res.exit_code, crashed or "Traceback" in res.output, text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--show", action="store_true", help="print every case's outcome")
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        series = write_series(tmp / "series.csv", 160)
        with no_plots():
            run_dir = train(forecast_spec(series, epochs=1), out=tmp / "runs").dir
        results = []
        for label, argv in cases(tmp, run_dir, series):
            code, tb, text = run_case(argv)
            results.append({"case": label, "exit": code, "traceback": tb, "output": text,
                             "message": text.strip().splitlines()[-1][:160] if text.strip() else ""})
    for r in results:
        r["noted"] = r["exit"] == 0 and any(n in r["case"] for n in NOTED) and \
            "warning:" in r.pop("output")
    tracebacks = [r for r in results if r["traceback"]]
    silent = [r for r in results if r["exit"] == 0 and not r["noted"]]
    noted = [r for r in results if r["noted"]]
    clear = [r for r in results if r["exit"] in (2, 3) and not r["traceback"]]
    by_exit = {k: len(list(g)) for k, g in itertools.groupby(sorted(r["exit"] for r in results))}
    if args.show:
        for r in results:
            print(f"{r['exit']:>3} {'TB ' if r['traceback'] else '   '}{r['case']}: {r['message']}")
    print(f"# bad inputs and faults through the CLI: {len(results)} cases")
    print(f"clear refusals (exit 2/3, no traceback): {len(clear)}")
    print(f"tracebacks: {len(tracebacks)}" + "".join(f"\n  - {r['case']}: {r['message']}" for r in tracebacks))
    print(f"used with a warning naming the broken auxiliary file (exit 0): {len(noted)}")
    print(f"accepted silently (exit 0): {len(silent)}" + "".join(f"\n  - {r['case']}" for r in silent))
    print("exit codes: " + json.dumps(by_exit))


if __name__ == "__main__":
    main()
