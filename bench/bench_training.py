"""(a) seqforge vs. a hand-written PyTorch loop, (b) vs. Keras 3 on its torch backend.

The stock recipe: 4 × LSTM-50, dropout 0.2 between layers, 60-step windows of one
price column, batch 32, Adam, MSE — 1,198 windows (a 1,258-day series), as in the
classic tutorial. Each contender trains whole epochs on the same windows; the contenders
alternate round by round so machine noise lands on all of them; the median epoch time
is reported with its ratio to the hand-written loop.

Run: python bench/bench_training.py [--repeats 5] [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import alternate, machine, median, table  # noqa: E402

WINDOW, HIDDEN, LAYERS, DROPOUT, BATCH = 60, 50, 4, 0.2, 32


def price_series(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 300 + np.cumsum(rng.normal(0, 3, n))  # a random walk, like a price


def seqforge_epoch(csv: Path, epochs_cap: int):
    import seqforge
    from seqforge.api import build
    from seqforge.api import make_trainer

    spec = seqforge.load_spec({
        "name": "bench", "data": {"dataset": "timeseries_csv", "source": str(csv),
                                  "target": "Open", "window": WINDOW, "val": 0, "test": 0},
        "model": {"topology": "many_to_one", "cell": "lstm", "hidden_size": HIDDEN,
                  "num_layers": LAYERS, "dropout": DROPOUT},
        "task": "forecast",
        "train": {"epochs": epochs_cap, "batch_size": BATCH, "optimizer": {"name": "adam"},
                  "threads": int(os.environ.get("BENCH_THREADS", "1"))},
    })
    built = build(spec)
    import torch

    trainer = make_trainer(spec, built, torch.device("cpu"), run_dir=None)
    state = {"epoch": 0}
    n = len(built.bundle.train)

    def epoch():
        state["epoch"] += 1
        trainer._run_epoch(state["epoch"])
        return None

    return epoch, n


def handwritten_epoch(values: np.ndarray):
    import torch
    from torch import nn

    scaled = (values - values.min()) / (values.max() - values.min())
    X = np.lib.stride_tricks.sliding_window_view(scaled[:-1], WINDOW)  # (M, W)
    Y = scaled[WINDOW:]  # (M,)
    X = torch.tensor(X, dtype=torch.float32).unsqueeze(-1)  # (M, W, 1)
    Y = torch.tensor(Y, dtype=torch.float32).unsqueeze(-1)  # (M, 1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, HIDDEN, LAYERS, dropout=DROPOUT, batch_first=True)
            self.fc = nn.Linear(HIDDEN, 1)

        def forward(self, x):
            h, _ = self.lstm(x)  # (B, W, H)
            return self.fc(h[:, -1])  # (B, 1)

    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y),
                                         batch_size=BATCH, shuffle=True)

    def epoch():
        net.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = nn.functional.mse_loss(net(xb), yb)
            loss.backward()
            opt.step()

    return epoch, len(X)


def keras_epoch(values: np.ndarray):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        return None, "keras is not installed (pip install keras) — skipped"
    if keras.backend.backend() != "torch":
        return None, f"keras backend is {keras.backend.backend()!r}, not torch — skipped"
    scaled = (values - values.min()) / (values.max() - values.min())
    X = np.lib.stride_tricks.sliding_window_view(scaled[:-1], WINDOW)[..., None].astype("float32")
    Y = scaled[WINDOW:, None].astype("float32")
    layers = [keras.Input((WINDOW, 1))]
    for i in range(LAYERS):
        layers += [keras.layers.LSTM(HIDDEN, return_sequences=i < LAYERS - 1),
                   keras.layers.Dropout(DROPOUT)]
    model = keras.Sequential(layers + [keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mean_squared_error")

    def epoch():
        model.fit(X, Y, epochs=1, batch_size=BATCH, verbose=0)

    return epoch, f"keras {keras.__version__}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="2 repeats, for a smoke run")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    os.environ["BENCH_THREADS"] = str(args.threads)
    repeats = 2 if args.quick else args.repeats
    values = price_series(1258)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "prices.csv"
        days = np.datetime64("2000-01-03") + np.arange(1258)
        csv.write_text("Date,Open\n" + "".join(f"{d},{v:.4f}\n" for d, v in zip(days, values)))
        hand, n_hand = handwritten_epoch(values)
        sf, n_sf = seqforge_epoch(csv, epochs_cap=1000)
        contenders = {"hand-written PyTorch": hand, "seqforge": sf}
        kfn, knote = keras_epoch(values)
        if kfn is not None:
            contenders["Keras 3 (torch backend)"] = kfn
        for fn in contenders.values():  # warm-up epoch each (allocator, first-call costs)
            fn()
        times = alternate(contenders, repeats)
    print(f"# training epoch time — stock recipe ({LAYERS}×LSTM-{HIDDEN}, window {WINDOW}, "
          f"batch {BATCH}, {n_hand} windows; seqforge {n_sf})")
    print(machine())
    base = median(times["hand-written PyTorch"])
    rows = []
    for name, ts in times.items():
        m = median(ts)
        rows.append([name, f"{m:.3f} s", f"{m / base:.3f}×", f"{min(ts):.3f}–{max(ts):.3f}"])
    print(table(rows, ["contender", "median epoch", "vs hand-written", "range"]))
    if kfn is None:
        print(f"Keras: {knote}")
    else:
        k = median(times["Keras 3 (torch backend)"])
        print(f"{knote}: seqforge is {k / median(times['seqforge']):.2f}× faster than Keras")


if __name__ == "__main__":
    main()
