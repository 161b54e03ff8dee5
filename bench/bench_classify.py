"""Quality runs of the shipped classification and anomaly specs, as one table.

Trains each spec once (seed 0, CPU) and prints dataset | spec | epochs | wall time | test
score | strongest baseline | published reference — the numbers in
bench/CLASSIFY_RESULTS.md. Needs ``pip install -e '.[series,digits]'``.

    OMP_NUM_THREADS=1 python bench/bench_classify.py [--only NAME]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import seqforge

ROOT = Path(__file__).resolve().parents[1] / "specs"
#: spec → (dataset, published reference, its source)
RUNS = {
    "ucr/basicmotions_lstm_fcn.yaml": ("BasicMotions", "1.000 InceptionTime"),
    "ucr/japanesevowels_gru.yaml": ("JapaneseVowels", "0.9919 InceptionTime"),
    "docstring_topics.yaml": ("stdlib docstrings", "—"),
    "kdd_tsad_135_lstm_ae.yaml": ("KDD-TSAD_135", "—"),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    print("| dataset | spec | epochs | wall s | test | strongest baseline | published |")
    print("|---|---|---|---|---|---|---|")
    for spec, (dataset, ref) in RUNS.items():
        if args.only and args.only not in spec:
            continue
        t0 = time.perf_counter()
        run = seqforge.train(str(ROOT / spec), out=None)
        wall = time.perf_counter() - t0
        s = run.summary
        key = "accuracy" if "test_accuracy" in s["test"] else "f1"
        b = s["baseline"]
        print(f"| {dataset} | {spec} | {s['epochs_run']} | {wall:.0f} | "
              f"{key} {s['test'][f'test_{key}']:.3f} | {b['name']} {b.get(key, float('nan')):.3f} "
              f"| {ref} |", flush=True)


if __name__ == "__main__":
    main()
