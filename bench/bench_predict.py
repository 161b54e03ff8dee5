"""Using a trained run: `seqforge predict` and `seqforge evaluate` on the stock recipe.

A run directory stands alone (its checkpoint carries the data description), so predict
reads only the user's file and evaluate only the run's own data; neither rebuilds a
trainer. Each command runs as a fresh process (what a user waits for), alternating with
`python -c "import torch"` — the floor no seqforge command can go below — and the
median time *beyond* importing torch is reported.

Run: python bench/bench_predict.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, median, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEQFORGE = [sys.executable, "-m", "seqforge"]


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return time.perf_counter() - t0


def trained_stock_run(root: Path) -> Path:
    """The shipped stock spec, one epoch (the time to load and use a run does not depend
    on how long it trained)."""
    subprocess.run(SEQFORGE + ["run", "specs/stock_lstm.yaml", "--set", "train.epochs=1",
                               "--out", str(root), "--quiet"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return next((root / "stock_lstm").iterdir())


def recent_prices(path: Path, days: int = 120) -> Path:
    """Date and Open only — all the stock model reads."""
    import numpy as np

    open_ = 400 + np.cumsum(np.random.default_rng(0).normal(0, 5, days))
    path.write_text("Date,Open\n" + "".join(
        f"{np.datetime64('2009-01-01') + i},{v:.2f}\n" for i, v in enumerate(open_)))
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeats = 3 if args.quick else args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        run = trained_stock_run(Path(tmp) / "runs")
        csv = recent_prices(Path(tmp) / "recent.csv")
        cases = {
            "python -c 'import torch'": [sys.executable, "-c", "import torch"],
            "seqforge predict (120 rows)": SEQFORGE + ["predict", str(run), "--input", str(csv),
                                                       "--out", str(Path(tmp) / "p.csv")],
            "seqforge evaluate (test split)": SEQFORGE + ["evaluate", str(run)],
            "seqforge export": SEQFORGE + ["export", str(run), "--out", str(Path(tmp) / "x")],
        }
        times = {k: [] for k in cases}
        for _ in range(repeats):  # round-robin: load hits every contender alike
            for name, cmd in cases.items():
                times[name].append(timed(cmd))
    floor = median(times["python -c 'import torch'"])
    rows = [[name, f"{median(ts):.2f} s", "—" if name.startswith("python") else
             f"{median(ts) - floor:.2f} s", f"{min(ts):.2f}–{max(ts):.2f}"]
            for name, ts in times.items()]
    print(f"# using a trained stock run (fresh process each, median of {repeats})")
    print(machine())
    print(table(rows, ["command", "median wall", "beyond import torch", "range"]))


if __name__ == "__main__":
    main()
