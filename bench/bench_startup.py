"""(e) Start-up: `seqforge --help`, `seqforge --version` and `seqforge validate`.

Each command runs as a fresh process (what a user waits for), several times; the median
wall time is reported beside `python -c pass` (the interpreter's own floor) and
`python -c "import torch"` (what --help avoids).

Run: python bench/bench_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, median, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEQFORGE = [sys.executable, "-m", "seqforge"]


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeats = 3 if args.quick else args.repeats
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "seqforge --version": SEQFORGE + ["--version"],
        "seqforge --help": SEQFORGE + ["--help"],
        "seqforge validate --no-dry-run": SEQFORGE + ["validate", "specs/stock_lstm.yaml", "--no-dry-run"],
        "seqforge validate (with trial batch)": SEQFORGE + ["validate", "specs/stock_lstm.yaml"],
    }
    times = {k: [] for k in cases}
    for _ in range(repeats):  # interleaved, so background load hits every case alike
        for name, cmd in cases.items():
            times[name].append(timed(cmd))
    print("# start-up time (fresh process each; median of", repeats, "runs)")
    print(machine())
    floor = median(times["python -c pass"])
    rows = [[k, f"{median(v):.3f} s", f"{median(v) - floor:+.3f} s"] for k, v in times.items()]
    print(table(rows, ["command", "median wall", "over bare python"]))
    h = median(times["seqforge --help"])
    print(f"seqforge --help: {h:.3f} s (goal < 0.3 s: {'met' if h < 0.3 else 'NOT met'})")


if __name__ == "__main__":
    main()
