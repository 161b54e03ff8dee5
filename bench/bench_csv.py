"""Loading a 1-million-row, 5-column CSV: seqforge's reader (pandas fast path, and the
line-exact reader it falls back to) against plain ``pandas.read_csv``.

The file: ``Date,Open,High,Low,Close`` — ISO dates, prices with 4 decimals (1,000,000
rows, ~45 MB), written once to a temporary folder, plus a gzip copy. Each contender loads
the four value columns and the dates into arrays; they alternate round by round and the
median is reported with its ratio to plain pandas. A last row times a file with one bad
cell at the end: the fast path hands it to the line-exact reader, which names the line.

Run: python bench/bench_csv.py [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import alternate, machine, median, table  # noqa: E402

COLUMNS = ["Open", "High", "Low", "Close"]


def write_file(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    price = 100 + np.cumsum(rng.normal(0, 1, rows))
    days = (np.datetime64("1900-01-01") + np.arange(rows)).astype(str)
    cols = [price, price + 1.5, price - 1.5, price + rng.normal(0, 0.5, rows)]
    with path.open("w") as fh:
        fh.write("Date," + ",".join(COLUMNS) + "\n")
        block = 100_000
        for lo in range(0, rows, block):
            hi = min(rows, lo + block)
            parts = [days[lo:hi]] + [np.char.mod("%.4f", c[lo:hi]) for c in cols]
            fh.write("\n".join(",".join(r) for r in zip(*parts)) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="100,000 rows, 2 repeats")
    args = ap.parse_args()
    rows = 100_000 if args.quick else args.rows
    repeats = 2 if args.quick else args.repeats
    import pandas as pd

    from seqforge.data.io import csv_fast
    from seqforge.data.io.csv_options import CsvOptions
    from seqforge.data.io.csv_series import load_series_csv, series_from_table
    from seqforge.data.io.table import read_table
    from seqforge.errors import DataError

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "prices.csv"
        write_file(path, rows)
        gz = Path(tmp) / "prices.csv.gz"
        with path.open("rb") as src, gzip.open(gz, "wb", compresslevel=1) as dst:
            shutil.copyfileobj(src, dst)
        opts = CsvOptions()

        def plain_pandas():
            df = pd.read_csv(path, usecols=["Date"] + COLUMNS)
            df["Date"] = pd.to_datetime(df["Date"], format="ISO8601")
            return df[COLUMNS].to_numpy(), df["Date"].to_numpy()

        contenders = {
            "pandas.read_csv + to_datetime": plain_pandas,
            "seqforge (pandas fast path)": lambda: load_series_csv(path, COLUMNS),
            "seqforge, .csv.gz": lambda: load_series_csv(gz, COLUMNS),
            "seqforge line-exact reader (no pandas)": lambda: series_from_table(
                read_table(path, opts), COLUMNS, "auto", None, opts),
        }
        s = load_series_csv(path, COLUMNS)
        assert s.values.shape == (rows, 4) and s.dates is not None
        assert csv_fast.read_series_fast(path, COLUMNS, "auto", None, opts) is not None
        times = alternate({k: (lambda f=f: (f(), None)[1]) for k, f in contenders.items()},
                          repeats)
        bad = Path(tmp) / "bad.csv"
        shutil.copy(path, bad)
        with bad.open("a") as fh:
            fh.write("2999-01-01,1.0,x,1.0,1.0\n")
        t0 = time.perf_counter()
        try:
            load_series_csv(bad, COLUMNS)
            message = "no error?"
        except DataError as exc:
            message = str(exc).split(": ", 1)[-1][:90]
        bad_time = time.perf_counter() - t0
    print(f"# loading a {rows:,}-row, 5-column CSV (Date + 4 prices)")
    print(machine())
    base = median(times["pandas.read_csv + to_datetime"])
    out = []
    for name, ts in times.items():
        m = median(ts)
        out.append([name, f"{m:.2f} s", f"{m / base:.2f}×", f"{rows / m / 1e6:.2f} M rows/s"])
    out.append(["one bad cell on the last line (fast path → line-exact)", f"{bad_time:.2f} s",
                f"{bad_time / base:.2f}×", message])
    print(table(out, ["contender", "median", "vs plain pandas", "rate / result"]))


if __name__ == "__main__":
    main()
