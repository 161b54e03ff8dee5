"""Checkpoints that survive: atomic writes, safe loads.

Writes go to a temporary file in the same directory, are fsynced, then renamed over the
target — a crash (even ``kill -9``) leaves either the old file or the new one, never a
torn one. Loads use ``weights_only=True``: a checkpoint holds tensors and plain data, and
a pickle payload inside one is refused instead of executed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..errors import RunDirError


def atomic_write_bytes(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the rename itself durable
        finally:
            os.close(dir_fd)
    except BaseException:
        with _suppress():
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, lambda f: f.write(text.encode("utf-8")))


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    atomic_write_bytes(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: Path, map_location="cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise RunDirError(f"{path}: checkpoint not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # pickle payloads, truncated files, non-checkpoints
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunDirError(
            f"{path}: refused to load checkpoint — it is not a plain seqforge checkpoint "
            f"(tensors and plain data only; nothing in it is executed): {first[:300]}") from None


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True
