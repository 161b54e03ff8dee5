"""Load test of `seqforge serve`: hundreds of /predict requests against a real server —
the `seqforge serve` command in its own process on 127.0.0.1 — from keep-alive HTTP
clients (1 and 4 at once); requests/s and p50/p99 latency, side by side with the same
prediction called in-process (``Run.predict``) so the HTTP + JSON overhead reads as a
ratio.

The model is the stock recipe's (4 × LSTM-50, window 60) after one short epoch; each
request sends 80 days of prices (JSON columns) and gets 21 forecasts back.

Run: python bench/bench_serve.py [--requests 400] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def client(url: str, body: bytes, n: int, out: list[float], errors: list[int]) -> None:
    host, port = url.removeprefix("http://").split(":")
    conn = HTTPConnection(host, int(port), timeout=60)
    conn.connect()
    # as every HTTP client library does: no Nagle delay on small request packets
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        out.append(time.perf_counter() - t0)
        if resp.status != 200:
            errors.append(resp.status)
    conn.close()


def wait_until_up(url: str, timeout: float = 60) -> None:
    host, port = url.removeprefix("http://").split(":")
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def load(url: str, body: bytes, total: int, clients: int) -> dict[str, float]:
    lat: list[float] = []
    errors: list[int] = []
    per = total // clients
    threads = [threading.Thread(target=client, args=(url, body, per, lat, errors))
               for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"n": len(lat), "rps": len(lat) / wall, "p50": percentile(lat, 50) * 1e3,
            "p99": percentile(lat, 99) * 1e3, "errors": len(errors)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    total = 100 if args.quick else args.requests
    import numpy as np
    import torch

    import seqforge

    torch.set_num_threads(1)
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        spec = seqforge.load_spec(ROOT / "specs" / "stock_lstm.yaml", overrides=[
            "train.epochs=1", "train.limit_train_batches=2", "train.threads=1"])
        run = seqforge.load_run(seqforge.train(spec, out=tmp).dir)
        prices = [float(v) for v in np.linspace(400.0, 480.0, 80)]
        body = json.dumps({"data": {"Open": prices}}).encode()
        for _ in range(5):
            run.predict({"Open": prices})  # warm
        direct = []
        for _ in range(min(total, 200)):
            t0 = time.perf_counter()
            run.predict({"Open": prices})
            direct.append(time.perf_counter() - t0)
        rows = [["in-process Run.predict", str(len(direct)), f"{1 / statistics.mean(direct):.0f}",
                 f"{percentile(direct, 50) * 1e3:.1f}", f"{percentile(direct, 99) * 1e3:.1f}", "0"]]
        results = {}
        server = subprocess.Popen([sys.executable, "-m", "seqforge", "serve", str(run.dir),
                                   "--port", "0", "--no-access-log"], cwd=ROOT, text=True,
                                  stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
        try:
            url = server.stderr.readline().rsplit(" at ", 1)[1].strip()
            wait_until_up(url)
            load(url, body, 20, 1)  # warm the connection path
            for clients in (1, 4):
                r = results[clients] = load(url, body, total, clients)
                rows.append([f"HTTP /predict, {clients} client(s)", str(r["n"]), f"{r['rps']:.0f}",
                             f"{r['p50']:.1f}", f"{r['p99']:.1f}", str(r["errors"])])
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(table(rows, ["", "requests", "requests/s", "p50 ms", "p99 ms", "non-200"]))
    d50 = percentile(direct, 50) * 1e3
    print(f"HTTP + JSON overhead at p50: {results[1]['p50'] / d50:.2f}x the in-process call "
          f"({results[1]['p50'] - d50:.1f} ms per request); 4 clients: "
          f"{results[4]['rps'] / results[1]['rps']:.2f}x the throughput of 1 (predictions "
          "are serialised by a lock; the server's event loop overlaps the rest)")


if __name__ == "__main__":
    main()
