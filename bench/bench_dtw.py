"""1-NN DTW baseline: our vectorised anti-diagonal DTW against dtaidistance's C DTW.

Both compute the same windowed (Sakoe-Chiba) DTW on the same z-normalised series; the
script checks the distances agree, times each side by side in one process and prints the
ratio. Needs ``pip install 'seqforge[series]'`` (aeon's bundled files, dtaidistance).

    OMP_NUM_THREADS=1 python bench/bench_dtw.py
"""

from __future__ import annotations

import time

import numpy as np

from seqforge.data.io.aeon_data import aeon_file
from seqforge.data.io.ts_format import read_ts
from seqforge.tasks.scoring.neighbours import dtw_distances, dtw_numpy, resample

PROBLEMS = ["ArrowHead", "BasicMotions", "JapaneseVowels"]


def znorm(x):
    return (x - x.mean(0)) / np.where(x.std(0) > 1e-8, x.std(0), 1.0)


def load(name):
    tr = read_ts(aeon_file(f"builtin:aeon/{name}/{name}_TRAIN.ts"))
    te = read_ts(aeon_file(f"builtin:aeon/{name}/{name}_TEST.ts"))
    L = max(x.shape[0] for x in tr.series)
    return (resample([znorm(x.astype(np.float64)) for x in tr.series], L),
            resample([znorm(x.astype(np.float64)) for x in te.series], L))


def main():
    print(f"{'problem':16} {'pairs':>7} {'ours s':>8} {'dtaidistance s':>15} {'C speed-up':>10} agree")
    for name in PROBLEMS:
        r, q = load(name)
        t0 = time.perf_counter()
        ours = dtw_numpy(q, r, 0.1)
        t1 = time.perf_counter()
        ref = dtw_distances(q, r, 0.1)  # dtaidistance's C DTW
        t2 = time.perf_counter()
        same = np.allclose(ours, ref, rtol=1e-6, atol=1e-6)
        print(f"{name:16} {q.shape[0] * r.shape[0]:7d} {t1 - t0:8.2f} {t2 - t1:15.2f} "
              f"{(t1 - t0) / (t2 - t1):10.1f} {same}")


if __name__ == "__main__":
    main()
