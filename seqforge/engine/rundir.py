"""The run directory: everything a run leaves behind, self-describing.

``runs/<name>/<timestamp>/``: ``spec.resolved.yaml`` (every default filled in),
``metrics.jsonl`` (one line per epoch), ``summary.json`` (final metrics + baseline),
``env.json`` (versions, device, seed, data hash), ``checkpoints/`` (``last.pt``,
``best.pt``), plots (``*.png``) and prediction CSVs.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from ..errors import RunDirError
from ..spec.loader import dump_yaml
from .checkpoint import atomic_write_text


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)  # JSON has no NaN/inf; keep them visible as strings
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    return v


def _stamp_order(path: Path) -> tuple[str, int]:
    """``20250101-120000-10`` after ``…-9``: the timestamp, then the same-second counter."""
    date, _, rest = path.name.partition("-")
    time_, _, n = rest.partition("-")
    return (f"{date}-{time_}", int(n) if n.isdigit() else 1)


class RunDir:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"

    @classmethod
    def create(cls, root: Path, name: str) -> "RunDir":
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = Path(root) / name
        path = base / stamp
        n = 1
        while path.exists():  # two runs in one second: never overwrite
            n += 1
            path = base / f"{stamp}-{n}"
        path.mkdir(parents=True)
        (path / "checkpoints").mkdir()
        return cls(path)

    @classmethod
    def latest(cls, root: Path, name: str, *, resumable: bool = False) -> "RunDir | None":
        """The newest run of ``name`` under ``root`` (``resumable``: the newest one with a
        ``last.pt`` — a run killed before its first checkpoint is skipped)."""
        base = Path(root) / name
        if not base.is_dir():
            return None
        runs = sorted((p for p in base.iterdir() if (p / "spec.resolved.yaml").exists()
                       and (not resumable or (p / "checkpoints" / "last.pt").exists())),
                      key=_stamp_order)
        return cls(runs[-1]) if runs else None

    def remove_stale_temps(self) -> list[Path]:
        """Delete temporary files a killed process left mid-write (``.last.pt.*.tmp``).

        They are never read — the rename that would have published them did not happen —
        so removing them only frees disk space.
        """
        stale = [p for d in (self.path, self.checkpoints) if d.is_dir()
                 for p in d.glob(".*.tmp")]
        for p in stale:
            p.unlink(missing_ok=True)
        return stale

    # -- writers -----------------------------------------------------------------------
    def write_spec(self, resolved: dict[str, Any]) -> None:
        # dump_yaml quotes strings the spec loader would read back as numbers ('1e3')
        atomic_write_text(self.path / "spec.resolved.yaml", dump_yaml(resolved))

    def append_metrics(self, row: dict[str, Any]) -> None:
        with open(self.path / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(_json_safe(row)) + "\n")
            f.flush()

    def rewrite_metrics(self, rows: list[dict[str, Any]]) -> None:
        """Resume: the history up to the checkpoint, nothing after it."""
        atomic_write_text(self.path / "metrics.jsonl",
                          "".join(json.dumps(_json_safe(r)) + "\n" for r in rows))

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        atomic_write_text(self.path / name, json.dumps(_json_safe(data), indent=2) + "\n")

    # -- readers -----------------------------------------------------------------------
    def read_spec(self) -> dict[str, Any]:
        path = self.path / "spec.resolved.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))  # plain data only
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise RunDirError(f"{path}: unreadable ({type(exc).__name__})") from None
        if not isinstance(data, dict):
            raise RunDirError(f"{path}: not a resolved spec")
        return data

    def read_json(self, name: str) -> dict[str, Any]:
        path = self.path / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:  # torn or hand-edited: say where, never a traceback
            raise RunDirError(f"{path} (line {e.lineno}): not valid JSON ({e.msg})") from None
        except (OSError, UnicodeDecodeError) as e:
            raise RunDirError(f"{path}: unreadable ({type(e).__name__})") from None
        if not isinstance(data, dict):
            raise RunDirError(f"{path}: expected a JSON object")
        return data

    def read_metrics(self) -> list[dict[str, Any]]:
        p = self.path / "metrics.jsonl"
        if not p.exists():
            return []
        rows = []
        lines = [line for line in p.read_text().splitlines() if line.strip()]
        for i, line in enumerate(lines):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                if i == len(lines) - 1:  # a line torn by kill -9 mid-append: not a row yet
                    break
                raise RunDirError(f"{p} (line {i + 1}): not a metrics row") from None
        return rows


def environment_record(*, device, seed: int, data_fingerprint: str, data_source: str,
                       threads: int, compile_decision: str, precision: str) -> dict[str, Any]:
    import torch

    from ..version import __version__
    from ..plugins import get_registry

    plugins: dict[str, str] = {}
    for e in get_registry():
        if e.origin != "builtin":
            plugins[e.plugin] = e.version
    return {
        "seqforge": __version__,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "plugins": plugins,
        "device": str(device),
        "cuda_device": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "threads": threads,
        "precision": precision,
        "compile": compile_decision,
        "seed": seed,
        "data_source": data_source,
        "data_fingerprint": data_fingerprint,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv,
    }
