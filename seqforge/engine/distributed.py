"""Data-parallel training through ``torch.distributed`` — no launcher of our own.

``seqforge run SPEC --nproc N`` hands the command line to torchrun's own launcher
(``torch.distributed.run``), exactly as ``torchrun --nproc_per_node N -m seqforge run SPEC``
would; multi-node runs use torchrun directly with ``--nnodes`` and a rendezvous
endpoint. Each worker sees torchrun's environment (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``…) and :func:`setup` joins the process group: gloo on CPU,
nccl on CUDA. If a rank fails, torchrun stops the others and reports that rank's error.

Semantics: ``train.batch_size`` is the *global* batch; each of the W ranks takes
``batch_size / W`` examples of every step, from one shared seeded permutation, so W
processes take the same optimizer steps on the same examples as one process would
(DDP averages the gradients). Only rank 0 writes the run directory and checkpoints.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def from_env() -> World:
    """The world torchrun describes in the environment (a single process otherwise)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    return World(int(os.environ.get("RANK", "0")), size, int(os.environ.get("LOCAL_RANK", "0")))


def setup(device: torch.device) -> World:
    """Join the process group when running under torchrun; a no-op otherwise."""
    world = from_env()
    if world.distributed and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(world.local_rank)
        dist.init_process_group(backend=backend)
    return world


def device_for(world: World, device: torch.device) -> torch.device:
    """One GPU per local rank."""
    if device.type == "cuda" and world.distributed:
        return torch.device("cuda", world.local_rank)
    return device


def all_reduce_sum(values: list[float], device: torch.device) -> list[float]:
    if not (dist.is_available() and dist.is_initialized()):
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def all_reduce_max(value: float, device: torch.device) -> float:
    if not (dist.is_available() and dist.is_initialized()):
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def any_flag(flag: bool, device: torch.device) -> bool:
    """True on every rank when any rank raised the flag (e.g. an interrupt)."""
    return all_reduce_max(1.0 if flag else 0.0, device) > 0


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def teardown(together: bool = False) -> None:
    """Leave the process group. ``together`` (a run that ended well): every rank first
    waits for the others — rank 0 scores and writes the run directory after training, and
    a rank that tore its connections down while a peer still held them aborted at exit
    ("terminate called without an active exception") about one run in three. After an
    error no rank waits: its peers may be inside another collective."""
    if dist.is_available() and dist.is_initialized():
        try:
            if together:
                dist.barrier()
        finally:
            dist.destroy_process_group()


def launch(nproc: int, argv: list[str]) -> int:
    """``seqforge run … --nproc N`` → torchrun's launcher running ``-m seqforge run …``."""
    from torch.distributed.run import get_args_parser, run

    rest = _strip_nproc(argv[1:])
    args = get_args_parser().parse_args(
        ["--nproc_per_node", str(nproc), "--standalone", "-m", "seqforge", *rest])
    try:
        run(args)
    except Exception as exc:  # ChildFailedError: torchrun already printed the rank's error
        print(f"distributed run failed: {type(exc).__name__}", file=sys.stderr)
        return 1
    return 0


def _strip_nproc(args: list[str]) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "--nproc":
            skip = True
            continue
        if a.startswith("--nproc="):
            continue
        out.append(a)
    return out
