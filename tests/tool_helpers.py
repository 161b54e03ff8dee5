"""Shared pieces of the tool tests (tune, loggers, runs, serve, ONNX): tiny specs, a
tiny trained run, and a plain HTTP client (the standard library's: a real client on a
real socket)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STOCK = ROOT / "specs" / "stock_lstm.yaml"

#: a stock-price run that trains in about a second (2 batches an epoch)
TINY = {
    "name": "tiny_stock",
    "data": {"dataset": "timeseries_csv", "window": 12, "test": 0.1},
    "model": {"topology": "many_to_one", "cell": "lstm", "hidden_size": 6, "num_layers": 2,
              "dropout": 0.2},
    "task": "forecast",
    "train": {"epochs": 2, "batch_size": 128, "limit_train_batches": 2, "threads": 1},
}

TUNE_SPEC = """\
extends: {stock}
name: tune
model: {{num_layers: 1, hidden_size: 4, dropout: 0.0}}
data: {{window: 12}}
train: {{epochs: 2, batch_size: 128, limit_train_batches: 2, threads: 1, early_stopping: null}}
tune:
  trials: {trials}
  pruner: {{name: median, n_startup_trials: 1, warmup_epochs: 0}}
  sampler: {{name: tpe, n_startup_trials: 2}}
  space:
    train.optimizer.lr: {{loguniform: [1.0e-3, 3.0e-2]}}
    model.cell: {{choice: [lstm, gru]}}
"""


def write_tune_spec(folder: Path, trials: int = 3, name: str = "tune.yaml") -> Path:
    path = Path(folder) / name
    path.write_text(TUNE_SPEC.format(trials=trials, stock=STOCK))
    return path


def train_tiny(out: Path, **train: Any):
    import seqforge

    spec = {**TINY, "train": {**TINY["train"], **train}}
    return seqforge.train(seqforge.load_spec(spec), out=out)


def http(url: str, body: bytes | None = None, *, ctype: str = "application/json",
         method: str | None = None, headers: dict | None = None) -> tuple[int, Any]:
    """(status, parsed JSON body) — 4xx/5xx included, never raised."""
    h = {"Content-Type": ctype} if body is not None else {}
    h.update(headers or {})
    req = urllib.request.Request(url, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def post_json(url: str, obj: Any) -> tuple[int, Any]:
    return http(url, json.dumps(obj).encode())


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with one file: (body, content type)."""
    boundary = "seqforgeTestBoundary7d1"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"
