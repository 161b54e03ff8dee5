"""How the forecasting defaults were chosen: candidate data settings × real series.

A user who writes only the dataset, target, window, cell and task gets the defaults of
``scaler`` / ``window_norm`` / ``transform``. Each candidate trains the same small model
(LSTM-32, 20 epochs, the engine's default early stopping) on real series shipped inside
installed packages — matplotlib's GOOG, statsmodels' co2 / sunspots / elnino / nile,
aeon's Airline / Lynx / Uschange / solar / PBS — and is scored on each series' last 20 %
against persistence and against the strongest baseline. The ratios (model RMSE ÷
baseline RMSE; < 1 beats it) and their geometric mean across series are printed side by
side in one run. Series whose package is not installed are skipped with a note.

Run: python bench/bench_defaults.py [--epochs 20] [--only goog,co2] [--configs A,C]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, table  # noqa: E402

CONFIGS = {
    "A minmax (before #11)": {"scaler": "minmax", "window_norm": "none"},
    "B standard": {"scaler": "standard", "window_norm": "none"},
    "C standard+last": {"scaler": "standard", "window_norm": "last"},
    "D revin+residual": {"scaler": "standard", "window_norm": "standard", "residual": True},
    "E minmax+last": {"scaler": "minmax", "window_norm": "last"},
    "F diff": {"scaler": "standard", "window_norm": "none", "transform": ["diff"]},
}


def _statsmodels(tmp: Path) -> dict[str, tuple[Path, str, int]]:
    try:
        import pandas as pd
        from statsmodels import datasets as smd
    except ImportError:
        print("statsmodels is not installed (pip install statsmodels): co2, sunspots, elnino, "
              "nile skipped")
        return {}
    out = {}
    co2 = smd.co2.load_pandas().data.interpolate()  # weekly, a few gaps
    co2.index.name = "date"
    co2.to_csv(tmp / "co2.csv")
    out["co2"] = (tmp / "co2.csv", "co2", 52)
    sun = smd.sunspots.load_pandas().data
    pd.DataFrame({"year": sun["YEAR"].astype(int).astype(str) + "-01-01",
                  "activity": sun["SUNACTIVITY"]}).to_csv(tmp / "sunspots.csv", index=False)
    out["sunspots"] = (tmp / "sunspots.csv", "activity", 22)
    el = smd.elnino.load_pandas().data
    long = el.melt(id_vars="YEAR", var_name="month", value_name="temp")
    month = {m: i + 1 for i, m in enumerate(el.columns[1:])}
    long["date"] = [f"{int(y)}-{month[m]:02d}-01" for y, m in zip(long["YEAR"], long["month"])]
    long[["date", "temp"]].sort_values("date").to_csv(tmp / "elnino.csv", index=False)
    out["elnino"] = (tmp / "elnino.csv", "temp", 24)
    nile = smd.nile.load_pandas().data
    pd.DataFrame({"year": nile["year"].astype(int).astype(str) + "-01-01",
                  "volume": nile["volume"]}).to_csv(tmp / "nile.csv", index=False)
    out["nile"] = (tmp / "nile.csv", "volume", 10)
    return out


def _aeon() -> dict[str, tuple[Path, str, int, dict]]:
    try:
        import importlib.util
        spec = importlib.util.find_spec("aeon")
        root = Path(spec.origin).parent / "datasets" / "data"
    except (ImportError, AttributeError, TypeError):
        print("aeon is not installed (pip install --no-deps aeon): Airline, Lynx, Uschange, "
              "solar, PBS skipped")
        return {}
    return {  # the files as the package ships them: our CSV reader reads them as they are
        "airline": (root / "Airline" / "Airline.csv", "Passengers", 24, {}),
        "lynx": (root / "Lynx" / "Lynx.csv", "0", 10, {"date_column": "unnamed_1",
                                                        "date_format": "%Y"}),
        "uschange": (root / "Uschange" / "Uschange.csv", "Consumption", 8, {}),
        "solar": (root / "solar" / "solar.csv", "solar_gen", 48, {}),
        "pbs": (root / "PBS_dataset" / "PBS_dataset.csv", "Scripts", 24, {}),
    }


def series(tmp: Path) -> dict[str, dict]:
    out = {"goog": {"source": "builtin:goog", "target": "Open", "window": 60}}
    for name, (path, target, window) in _statsmodels(tmp).items():
        out[name] = {"source": str(path), "target": target, "window": window}
    for name, (path, target, window, extra) in _aeon().items():
        out[name] = {"source": str(path), "target": target, "window": window, **extra}
    return out


def run(data: dict, config: dict, epochs: int) -> dict:
    import seqforge

    spec = seqforge.load_spec({
        "name": "defaults", "seed": 0,
        "data": {"dataset": "timeseries_csv", **data, **config},
        "model": {"topology": "many_to_one", "cell": "lstm", "hidden_size": 32},
        "task": "forecast",
        "train": {"epochs": epochs, "threads": 1},
    })
    t0 = time.perf_counter()
    r = seqforge.train(spec, out=None)
    s = r.summary
    return {"rmse": s["test"]["test_rmse"], "persistence": s["baselines"]["persistence"]["rmse"],
            "best": s["baseline"]["rmse"], "best_name": s["baseline"]["name"],
            "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--only", default="")
    ap.add_argument("--configs", default="", help="config letters, e.g. A,C")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    letters = {c.strip() for c in args.configs.split(",") if c.strip()}
    configs = {k: v for k, v in CONFIGS.items() if not letters or k[0] in letters}
    with tempfile.TemporaryDirectory() as tmp:
        all_series = series(Path(tmp))
        only = {s.strip() for s in args.only.split(",") if s.strip()}
        chosen = {k: v for k, v in all_series.items() if not only or k in only}
        results: dict[str, dict[str, dict]] = {}
        for name, data in chosen.items():
            results[name] = {}
            for label, cfg in configs.items():
                results[name][label] = run(data, cfg, args.epochs)
                r = results[name][label]
                print(f"  {name:9s} {label:22s} rmse {r['rmse']:.4g}  persistence "
                      f"{r['persistence']:.4g}  best {r['best_name']} {r['best']:.4g}  "
                      f"({r['seconds']:.0f} s)", flush=True)
    print(f"\n# forecasting defaults: model RMSE ÷ persistence RMSE (÷ best baseline), "
          f"LSTM-32, {args.epochs} epochs, last 20 % as test")
    print(machine())
    rows = []
    for name, by in results.items():
        first = next(iter(by.values()))
        rows.append([name, f"{first['persistence']:.4g}", first["best_name"]]
                    + [f"{r['rmse'] / r['persistence']:.3f} ({r['rmse'] / r['best']:.3f})"
                       for r in by.values()])
    gm = ["geometric mean", "", ""]
    worst = ["worst", "", ""]
    for label in configs:
        ratios = [by[label]["rmse"] / by[label]["persistence"] for by in results.values()]
        best = [by[label]["rmse"] / by[label]["best"] for by in results.values()]
        gm.append(f"{math.exp(sum(map(math.log, ratios)) / len(ratios)):.3f} "
                  f"({math.exp(sum(map(math.log, best)) / len(best)):.3f})")
        worst.append(f"{max(ratios):.3f} ({max(best):.3f})")
    print(table(rows + [gm, worst], ["series", "persistence RMSE", "best baseline"]
                + list(configs)))


if __name__ == "__main__":
    main()
