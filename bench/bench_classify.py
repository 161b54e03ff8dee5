"""Quality runs of the shipped classification and anomaly specs, as one table.

Trains each spec once (seed 0, CPU) and prints dataset | spec | epochs | wall time | test
score | strongest baseline | published reference — the numbers in
bench/CLASSIFY_RESULTS.md. Needs ``pip install -e '.[series,digits]'``.

    OMP_NUM_THREADS=1 python bench/bench_classify.py [--only NAME] [--seeds 0,1,2]

``--seeds``: train each spec once per seed (``--set seed=K``), one row each — the spread
a small test file (50 series for PickupGestureWiimoteZ) gives a single figure.
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
    "ucr/arrowhead_lstm_fcn.yaml": ("ArrowHead", "0.8457 InceptionTime"),
    "ucr/osuleaf_lstm_fcn.yaml": ("OSULeaf", "0.9421 InceptionTime"),
    "ucr/pickupgesture_lstm_fcn.yaml": ("PickupGestureWiimoteZ", "0.76 InceptionTime"),
    "ucr/acsf1_lstm_fcn.yaml": ("ACSF1", "0.92 InceptionTime"),
    "docstring_topics.yaml": ("stdlib docstrings", "—"),
    "docstring_bshift.yaml": ("stdlib docstring sentences, bigram shift", "—"),
    "kdd_tsad_135_lstm_ae.yaml": ("KDD-TSAD_135", "—"),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=None)
    ap.add_argument("--seeds", default=None, help="comma-separated seeds (default: the spec's)")
    args = ap.parse_args()
    seeds = [int(k) for k in args.seeds.split(",")] if args.seeds else [None]
    print("| dataset | spec | seed | epochs | wall s | test | strongest baseline | published |")
    print("|---|---|---|---|---|---|---|---|")
    for spec, (dataset, ref) in RUNS.items():
        if args.only and args.only not in spec:
            continue
        for seed in seeds:
            t0 = time.perf_counter()
            run = seqforge.train(str(ROOT / spec), out=None,
                                 overrides=None if seed is None else [f"seed={seed}"])
            wall = time.perf_counter() - t0
            s = run.summary
            key = "accuracy" if "test_accuracy" in s["test"] else "f1"
            b = s["baseline"]
            print(f"| {dataset} | {spec} | {run.spec.seed} | {s['epochs_run']} | {wall:.0f} | "
                  f"{key} {s['test'][f'test_{key}']:.3f} | {b['name']} "
                  f"{b.get(key, float('nan')):.3f} | {ref} |", flush=True)


if __name__ == "__main__":
    main()
