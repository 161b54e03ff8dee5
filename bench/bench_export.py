"""ONNX export time: the dynamo exporter seqforge used before vs the TorchScript-based one
it uses now, on the stock recipe's model (4 × LSTM-50, window 60).

Each contender runs in a fresh process, as `seqforge export` does (import and first-call
costs included: what a user waits for), alternating, several times; medians and their
ratio are printed, with the exported file checked by onnxruntime at an unseen batch size
and sequence length.

before: ``torch.export.export`` (dynamic batch), then ``torch.onnx.export(program,
        dynamo=True)`` — which decomposes and re-translates the program
after:  ``seqforge.export.export_run(run, dir, "onnx")`` — one TorchScript trace with
        dynamic batch and time axes, plus the onnxruntime check

Run: python bench/bench_export.py [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, median, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

BEFORE = """
import sys, time, warnings, torch, seqforge
from seqforge.export import _XOnly, example_input
warnings.simplefilter("ignore")
t0 = time.perf_counter()
run = seqforge.load_run(sys.argv[1])
model = _XOnly(run.model).eval()
x = example_input(run)
with torch.no_grad():
    program = torch.export.export(model, (x,), dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1, max=65536)}})
    torch.onnx.export(program, (x,), sys.argv[2] + "/model.onnx", dynamo=True)
print("SECONDS", time.perf_counter() - t0)
"""

AFTER = """
import sys, time, json, seqforge
from seqforge.export import export_run
t0 = time.perf_counter()
res = export_run(seqforge.load_run(sys.argv[1]), sys.argv[2], "onnx")
print("SECONDS", time.perf_counter() - t0)
print("CHECK", json.dumps(res["check"]))
"""


def trained_run(folder: Path) -> Path:
    code = ("import seqforge; s = seqforge.load_spec('specs/stock_lstm.yaml', overrides="
            "['train.epochs=1', 'train.limit_train_batches=2', 'train.threads=1']); "
            f"print(seqforge.train(s, out={str(folder)!r}).dir)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return Path(out.stdout.strip().splitlines()[-1])


def contender(code: str, run: Path, out: Path) -> tuple[float, float, str]:
    """(wall seconds of the process, seconds inside it, its last line)"""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code, str(run), str(out)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    said = dict(line.split(" ", 1) for line in res.stdout.splitlines()  # the exporter prints too
                if line.startswith(("SECONDS ", "CHECK ")))
    return wall, float(said["SECONDS"]), said.get("CHECK", "")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeats = 1 if args.quick else args.repeats
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        run = trained_run(Path(tmp) / "runs")
        times: dict[str, list[tuple[float, float]]] = {"before (dynamo)": [], "after (torchscript)": []}
        check = ""
        for i in range(repeats):  # alternate: machine noise hits both alike
            w, inside, _ = contender(BEFORE, run, Path(tmp) / f"b{i}")
            times["before (dynamo)"].append((w, inside))
            w, inside, check = contender(AFTER, run, Path(tmp) / f"a{i}")
            times["after (torchscript)"].append((w, inside))
    rows = [[name, f"{median([w for w, _ in ts]):.1f}", f"{median([s for _, s in ts]):.2f}"]
            for name, ts in times.items()]
    print(table(rows, ["ONNX export of the stock model", "process wall s (median)",
                       "load + export s (median)"]))
    b, a = (median([s for _, s in ts]) for ts in times.values())
    bw, aw = (median([w for w, _ in ts]) for ts in times.values())
    print(f"export {b / a:.1f}x faster (load + export), {bw / aw:.1f}x faster per process; "
          f"{repeats} run(s) each")
    c = json.loads(check)
    print(f"after: checked with {c['runtime']} at batch {c['batch']}, {c['steps']} steps "
          f"(export traced batch 2, 60 steps): max |Δ| {c['max_abs_diff']:.2g}")


if __name__ == "__main__":
    main()
