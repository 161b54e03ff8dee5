"""Checkpoints that survive: atomic writes, safe loads.

Writes go to a temporary file in the same directory, are fsynced, then renamed over the
target — a crash (even ``kill -9``) leaves either the old file or the new one, never a
torn one; the file gets the mode the umask gives any new file. Loads use
``weights_only=True``: a checkpoint holds tensors and plain data, and a pickle payload
inside one is refused instead of executed. :func:`check_payload` and
:func:`check_weights` validate what loaded before anything uses it, so a checkpoint with
the wrong structure or another model's weights is a message naming the file and the
mismatching part — never a KeyError or a size-mismatch traceback.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
import zipfile
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
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; honour the umask instead
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def load_checkpoint(path: Path, map_location="cpu") -> Any:
    """The checkpoint's contents, loaded safely (``weights_only``): never executes code.

    Validate the result with :func:`check_payload` before using it."""
    path = Path(path)
    if not path.exists():
        raise RunDirError(f"{path}: checkpoint not found")
    if not path.is_file():
        raise RunDirError(f"{path}: is not a file")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        why = ("it holds Python objects beyond tensors and plain data — a pickle payload, "
               "which seqforge never runs")
    except (zipfile.BadZipFile, EOFError, RuntimeError, ValueError, OSError) as exc:
        why = f"it is truncated or not a torch file ({_plain_reason(exc)})"
    raise RunDirError(f"{path}: refused to load checkpoint — {why}") from None


def _plain_reason(exc: BaseException) -> str:
    """The first line of an error, without terminal colour codes or torch's advice to load
    with weights_only=False (which would run whatever the file holds)."""
    text = _ANSI.sub("", str(exc)).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if "weights_only" in first:
        first = type(exc).__name__
    return first[:200]


#: what every checkpoint holds, and the type each part must have
REQUIRED = {"format": str, "model": dict, "data_info": dict, "loop": dict}
LOOP_KEYS = ("epoch", "step", "batch_in_epoch", "history")


def check_payload(ck: Any, path: Path, expected_format: str) -> dict[str, Any]:
    """``ck`` if it has a seqforge checkpoint's structure; else a RunDirError naming the
    part that is wrong."""
    if not isinstance(ck, dict):
        raise RunDirError(f"{path}: not a seqforge checkpoint (it holds a "
                          f"{type(ck).__name__}, not a mapping of its parts)")
    if ck.get("format") != expected_format:
        raise RunDirError(f"{path}: not a {expected_format} checkpoint (format "
                          f"{ck.get('format')!r}); it was written by another seqforge version "
                          "or is not a checkpoint — retrain with this one")
    for key, kind in REQUIRED.items():
        if not isinstance(ck.get(key), kind):
            got = "missing" if key not in ck else f"a {type(ck[key]).__name__}"
            raise RunDirError(f"{path}: the checkpoint's {key!r} entry is {got}, "
                              f"not a {kind.__name__}")
    bad = [k for k, v in ck["model"].items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise RunDirError(f"{path}: the checkpoint's weights hold non-tensors ({bad[0]!r})")
    missing = [k for k in LOOP_KEYS if k not in ck["loop"]]
    if missing:
        raise RunDirError(f"{path}: the checkpoint's 'loop' entry lacks {', '.join(missing)}")
    return ck


def check_weights(model: torch.nn.Module, weights: dict[str, Any], path: Path) -> None:
    """Refuse weights that do not fit ``model`` (built from the run's spec), naming the
    first parameter that differs — before ``load_state_dict`` would raise on it."""
    own = model.state_dict()
    for name, value in own.items():
        if name not in weights:
            raise RunDirError(f"{path}: the checkpoint has no weights for {name!r} — it was "
                              "written by a different model than the run's spec builds")
        if tuple(weights[name].shape) != tuple(value.shape):
            raise RunDirError(f"{path}: parameter {name!r} has shape "
                              f"{tuple(weights[name].shape)} in the checkpoint but "
                              f"{tuple(value.shape)} in the model the run's spec builds — the "
                              "checkpoint belongs to another architecture")
    extra = sorted(set(weights) - set(own))
    if extra:
        raise RunDirError(f"{path}: the checkpoint holds weights the run's model has no place "
                          f"for ({extra[0]!r}) — it belongs to another architecture")


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True
