"""Atomic checkpoint writes and safe loads (``seqforge.engine.checkpoint``), and the run
directory's tolerance of a process killed mid-write.

``kill -9`` is real: a forked child writes checkpoints and the test SIGKILLs it — once
deterministically in the middle of writing the bytes, and many times at random moments
of a tight save loop. After every kill ``last.pt`` must load, and hold exactly one of the
payloads that were written in full.
"""

from __future__ import annotations

import io
import os
import random
import select
import signal
import sys
import time

import pytest
import torch

from seqforge.engine.checkpoint import (atomic_write_bytes, atomic_write_text, load_checkpoint,
                                        save_checkpoint)
from seqforge.engine.rundir import RunDir
from seqforge.errors import RunDirError

fork_only = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                               reason="needs fork() to kill a writer at a chosen moment")


def _payload(i: int, size: int = 1 << 18) -> dict:
    return {"format": "seqforge-checkpoint/1", "i": i, "w": torch.full((size,), float(i))}


def _same(a: dict, b: dict) -> bool:
    return a["i"] == b["i"] and torch.equal(a["w"], b["w"])


def test_roundtrip_and_no_temporaries_left(tmp_path):
    p = tmp_path / "ck" / "last.pt"  # parent folder is created
    save_checkpoint(p, _payload(1))
    assert _same(load_checkpoint(p), _payload(1))
    save_checkpoint(p, _payload(2))
    assert _same(load_checkpoint(p), _payload(2))
    assert sorted(x.name for x in p.parent.iterdir()) == ["last.pt"]


def test_a_failing_write_keeps_the_old_file_and_cleans_up(tmp_path):
    p = tmp_path / "last.pt"
    save_checkpoint(p, _payload(1))

    def half_then_fail(f):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(p, half_then_fail)
    assert _same(load_checkpoint(p), _payload(1))
    assert sorted(x.name for x in tmp_path.iterdir()) == ["last.pt"]


def test_atomic_text(tmp_path):
    p = tmp_path / "a.json"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two ✓")
    assert p.read_text(encoding="utf-8") == "two ✓"


def _wait_ready(r: int, pid: int) -> None:
    """Block until the child writes its byte — at most 60 s (then kill it and fail)."""
    ready, _, _ = select.select([r], [], [], 60)
    if not ready:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked writer never got going")
    assert os.read(r, 1) == b"!"


def _fork(child) -> int:
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        try:
            child()
        finally:
            os._exit(0)
    return pid


@fork_only
def test_kill9_in_the_middle_of_writing_leaves_the_old_checkpoint(tmp_path):
    """Deterministic: the child writes half the bytes, tells us, and is killed right there."""
    p = tmp_path / "last.pt"
    save_checkpoint(p, _payload(1))
    buf = io.BytesIO()
    torch.save(_payload(2), buf)
    data = buf.getvalue()
    r, w = os.pipe()

    def child():
        os.close(r)

        def write(f):
            f.write(data[: len(data) // 2])
            f.flush()
            os.write(w, b"!")  # half of checkpoint 2 is on disk
            time.sleep(60)

        atomic_write_bytes(p, write)

    pid = _fork(child)
    os.close(w)
    _wait_ready(r, pid)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(r)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    temps = list(tmp_path.glob(".last.pt.*.tmp"))
    assert len(temps) == 1 and temps[0].stat().st_size == len(data) // 2  # the torn write
    assert _same(load_checkpoint(p), _payload(1))  # … never reached last.pt
    # a resumed run sweeps such leftovers away
    rd = RunDir(tmp_path.parent / "run")
    rd.checkpoints.mkdir(parents=True)
    temps[0].rename(rd.checkpoints / temps[0].name)
    assert rd.remove_stale_temps() and not list(rd.checkpoints.glob(".*"))


@fork_only
def test_kill9_at_random_moments_of_a_save_loop_never_corrupts_last(tmp_path):
    """Twelve kills at random moments of back-to-back saves: every time, last.pt loads and
    is one complete payload (the newest one whose rename happened)."""
    rng = random.Random(1234)
    payloads = [_payload(i, 1 << 16) for i in range(60)]  # built before fork: the child only writes
    p = tmp_path / "last.pt"
    for kill in range(12):
        r, w = os.pipe()

        def child():
            os.close(r)
            os.write(w, b"!")
            for pl in payloads:
                save_checkpoint(p, pl)

        pid = _fork(child)
        os.close(w)
        _wait_ready(r, pid)
        time.sleep(rng.uniform(0.0, 0.05))  # a random moment, on purpose
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(r)
        if p.exists():
            got = load_checkpoint(p)
            assert _same(got, payloads[got["i"]])
        for t in tmp_path.glob(".last.pt.*.tmp"):
            t.unlink()
    assert p.exists()  # at least one save completed over the twelve runs


def test_load_refuses_junk_and_truncated_files_with_a_clear_error(tmp_path):
    p = tmp_path / "last.pt"
    save_checkpoint(p, _payload(3))
    whole = p.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(whole[: len(whole) // 3])
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all\n")
    (tmp_path / "empty.pt").write_bytes(b"")
    for name in ("trunc.pt", "junk.pt", "empty.pt"):
        with pytest.raises(RunDirError, match="refused to load checkpoint"):
            load_checkpoint(tmp_path / name)
    with pytest.raises(RunDirError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_metrics_with_a_line_torn_by_kill9_still_read(tmp_path):
    rd = RunDir(tmp_path)
    rd.append_metrics({"epoch": 1, "train_loss": 0.5})
    rd.append_metrics({"epoch": 2, "train_loss": float("nan")})
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 3, "train_lo')  # the process died mid-append
    rows = rd.read_metrics()
    assert [r["epoch"] for r in rows] == [1, 2] and rows[1]["train_loss"] == "nan"
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\ngarbage\n{"epoch": 3}\n')
    with pytest.raises(RunDirError, match="line 2"):
        rd.read_metrics()


def test_latest_run_orders_same_second_runs_numerically(tmp_path):
    for name in ("20250101-120000", "20250101-120000-2", "20250101-120000-10", "20241231-235959-3"):
        (tmp_path / "x" / name).mkdir(parents=True)
        (tmp_path / "x" / name / "spec.resolved.yaml").write_text("name: x\n")
    (tmp_path / "x" / "20990101-000000").mkdir()  # no spec: not a run
    assert RunDir.latest(tmp_path, "x").path.name == "20250101-120000-10"
    assert RunDir.latest(tmp_path, "nothing") is None
    # resuming skips runs killed before their first checkpoint
    assert RunDir.latest(tmp_path, "x", resumable=True) is None
    (tmp_path / "x" / "20250101-120000-2" / "checkpoints").mkdir()
    (tmp_path / "x" / "20250101-120000-2" / "checkpoints" / "last.pt").write_bytes(b"")
    assert RunDir.latest(tmp_path, "x", resumable=True).path.name == "20250101-120000-2"


def test_unreadable_resolved_spec_is_a_run_dir_error(tmp_path):
    (tmp_path / "spec.resolved.yaml").write_text("a: [unclosed\n")
    with pytest.raises(RunDirError, match="unreadable"):
        RunDir(tmp_path).read_spec()
    (tmp_path / "spec.resolved.yaml").write_text("- a list\n")
    with pytest.raises(RunDirError, match="not a resolved spec"):
        RunDir(tmp_path).read_spec()
