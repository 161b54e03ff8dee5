"""Data-parallel training: 2 gloo processes on CPU take the same steps as 1 process.

Both runs use the same *global* batch; the two ranks each take half of every batch from
one shared permutation and DDP averages their gradients, so the parameters after the
same number of steps agree with the single-process run (up to float summation order).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from seqforge.data.sampling import ShardedBatches

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(),
                                reason="torch.distributed is not available")

SPEC = {
    "name": "ddp",
    "seed": 5,
    "data": {"dataset": "timeseries_csv", "window": 10, "val": 0.1, "test": 0.1},
    # no dropout: ranks draw different dropout masks, which is right but not comparable
    "model": {"topology": "many_to_one", "cell": "gru", "hidden_size": 8},
    "task": "forecast",
    "train": {"epochs": 2, "batch_size": 64, "optimizer": {"name": "sgd", "lr": 0.05},
              "limit_train_batches": 6, "threads": 1},
}


def test_shards_of_a_global_batch_are_the_single_process_batch():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    single = list(ShardedBatches(50, 8, shuffle=True, generator=g1))
    shards = [list(ShardedBatches(50, 8, shuffle=True, generator=g2, rank=r, world=2))
              for r in range(2)]
    g2.manual_seed(3)
    shards[1] = list(ShardedBatches(50, 8, shuffle=True, generator=g2, rank=1, world=2))
    assert len(shards[0]) == len(shards[1]) == len(single)
    for b, batch in enumerate(single):
        assert sorted(shards[0][b] + shards[1][b]) == sorted(batch)
        assert not set(shards[0][b]) & set(shards[1][b])


def test_a_last_batch_smaller_than_the_world_is_dropped():
    g = torch.Generator().manual_seed(0)
    batches = list(ShardedBatches(17, 8, shuffle=False, generator=g, rank=0, world=2))
    assert len(batches) == 2 and batches[0] == [0, 2, 4, 6]


def _run(tmp_path: Path, nproc: int, extra: list[str] = ()) -> subprocess.CompletedProcess:
    spec = tmp_path / "ddp.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    cmd = [sys.executable, "-m", "seqforge", "run", str(spec), "--out", str(tmp_path / f"out{nproc}"),
           "--quiet", *extra]
    if nproc > 1:
        cmd += ["--nproc", str(nproc)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)


def _last(tmp_path: Path, nproc: int) -> tuple[dict, list[dict]]:
    (run,) = (tmp_path / f"out{nproc}" / "ddp").iterdir()
    ck = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return ck, rows


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    one = _run(tmp_path, 1)
    assert one.returncode == 0, one.stderr[-3000:]
    two = _run(tmp_path, 2)
    assert two.returncode == 0, two.stderr[-3000:]
    ck1, rows1 = _last(tmp_path, 1)
    ck2, rows2 = _last(tmp_path, 2)
    assert ck1["loop"]["step"] == ck2["loop"]["step"] == 12
    for name, p1 in ck1["model"].items():
        torch.testing.assert_close(ck2["model"][name], p1, rtol=1e-4, atol=1e-5, msg=name)
    for r1, r2 in zip(rows1, rows2):  # the epoch loss is reduced over both ranks
        assert r2["train_loss"] == pytest.approx(r1["train_loss"], rel=1e-4)
    # only rank 0 wrote: one run directory with one summary
    assert len(list((tmp_path / "out2" / "ddp").iterdir())) == 1

    # a distributed run resumes from its checkpoint (and continues to more epochs)
    (run2,) = (tmp_path / "out2" / "ddp").iterdir()
    res = _run(tmp_path, 2, ["--set", "train.epochs=3", "--resume", str(run2)])
    assert res.returncode == 0, res.stderr[-3000:]
    ck3, rows3 = _last(tmp_path, 2)
    assert ck3["loop"]["epoch"] == 3 and ck3["loop"]["step"] == 18 and len(rows3) == 3


@pytest.mark.slow
def test_a_failing_rank_ends_the_run_with_its_error(tmp_path):
    """A bad global batch size is refused once, before any process starts (exit 2, no run
    directory); an error inside the ranks (a data file that is not there) ends the whole
    run with that error."""
    spec = dict(SPEC, train={**SPEC["train"], "batch_size": 63})
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(spec))
    res = subprocess.run([sys.executable, "-m", "seqforge", "run", str(tmp_path / "bad.yaml"),
                          "--out", str(tmp_path / "o"), "--quiet", "--nproc", "2"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 2 and res.stderr.count("does not divide evenly over 2") == 1
    assert not (tmp_path / "o").exists()
    spec = dict(SPEC, data={**SPEC["data"], "source": str(tmp_path / "gone.csv")})
    (tmp_path / "gone.yaml").write_text(yaml.safe_dump(spec))
    res = subprocess.run([sys.executable, "-m", "seqforge", "run", str(tmp_path / "gone.yaml"),
                          "--out", str(tmp_path / "o"), "--quiet", "--nproc", "2"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode != 0 and "gone.csv" in res.stderr and "file not found" in res.stderr