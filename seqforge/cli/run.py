"""``seqforge run SPEC``: train, and write a run directory."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import config, options
from .options import SetOpt
from .output import baselines_line, console, horizon_table, metric_table, notes
from .validate import load


def run(spec: Annotated[Path, typer.Argument(help="The YAML spec.")],
        run_dir: Annotated[Optional[Path], typer.Argument(
            help="Only with --resume: the run directory to continue (default: the newest run "
                 "of this spec under --out).", show_default=False)] = None,
        set_: SetOpt = None,
        device: Annotated[Optional[str], typer.Option(help="auto, cpu, cuda or cuda:N")] = None,
        out: Annotated[Path, typer.Option(help="Root folder for run directories.")] = Path("runs"),
        # a flag plus an optional positional RUN_DIR gives `run SPEC --resume [RUN_DIR]`
        # (typer has no option with an optional value)
        resume: Annotated[bool, typer.Option(
            "--resume", help="Continue from the last checkpoint: seqforge run SPEC --resume "
                             "[RUN_DIR]. Without RUN_DIR: the newest run of SPEC under --out.")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
        nproc: Annotated[Optional[int], typer.Option(
            help="Data-parallel processes on this machine (torch.distributed).")] = None,
        print_config: Annotated[bool, typer.Option(
            "--print-config", help="Print the resolved spec (as `seqforge config`) and exit "
                                   "without training.")] = False):
    """Train a spec and write a run directory (metrics, baseline, plots, checkpoints)."""
    if print_config:
        return config.print_config(spec, set_)
    if device is not None:
        options.device("--device", device)
    if nproc is not None:
        options.at_least("--nproc", nproc, 1)
    if nproc and nproc > 1:
        from ..engine.distributed import launch

        checked = load(spec, set_)  # a bad spec is one message here, not one per process
        if checked.train.batch_size % nproc:
            raise options.OptionError("--nproc", f"train.batch_size {checked.train.batch_size} "
                                                 f"does not divide evenly over {nproc} processes")
        raise typer.Exit(launch(nproc, sys.argv))
    from ..api import train
    from ..engine.interrupt import Interrupted

    if run_dir is not None and not resume:
        raise options.OptionError(
            "RUN_DIR", f"unexpected argument {str(run_dir)!r}: a run directory is only given "
                       "with --resume (seqforge run SPEC --resume RUN_DIR)")
    s = load(spec, set_)
    res: Path | bool | None = None
    if resume:  # 'last' kept for older scripts: the newest run, like a bare --resume
        res = True if run_dir is None or (str(run_dir) == "last" and not run_dir.exists()) else run_dir
    try:
        r = train(s, out=out, device=device, quiet=quiet, resume=res)
    except Interrupted as intr:
        _interrupted(intr, spec, set_)
    except KeyboardInterrupt:  # a second Ctrl-C, or one before training began
        typer.echo("interrupted: stopped at once; no new checkpoint was written", err=True)
        raise typer.Exit(130)
    if quiet:  # no progress output, but warnings still show (else printed before training)
        notes(r.notes)
    print_summary(r.summary, r.dir)


def _interrupted(intr, spec: Path, overrides) -> None:
    """Say where the checkpoint is and the exact command that continues the run."""
    if intr.checkpoint is None:
        typer.echo(f"{intr}: no run directory, nothing saved", err=True)
    else:
        run_dir = intr.checkpoint.parent.parent
        sets = "".join(f" --set {shlex.quote(o)}" for o in overrides or [])
        typer.echo(f"{intr}: checkpoint written to {intr.checkpoint}\n"
                   f"resume with: seqforge run {shlex.quote(str(spec))}{sets} --resume "
                   f"{shlex.quote(str(run_dir))}", err=True)
    raise typer.Exit(intr.exit_code)


def print_summary(s: dict, run_dir: Path | None) -> None:
    """The test metrics beside the baselines', and plainly whether the model wins."""
    if not s:  # a non-zero rank of a distributed run: rank 0 reports
        return
    out = console()
    out.print(metric_table(f"{s['name']}: test metrics ({s['weights']} weights)", s["test"],
                           "test_", s["baseline"], s.get("baselines")))
    steps = horizon_table(s["test"], "test_", s["baseline"])
    if steps is not None:
        out.print(steps)
    line = baselines_line(s.get("baselines", []), s["baseline"], s.get("headline"))
    if line:
        out.print(line, highlight=False, soft_wrap=True)
    skill = s.get("skill")
    if "beats_best_baseline" in s:
        verdict = "beats" if s["beats_best_baseline"] else "does NOT beat"
        m = s.get("headline") or next((k for k in s["baseline"] if k != "name"), "")
        line = (f"model {verdict} the best baseline ({s['baseline'].get('name', '')}) on "
                f"{m.replace('_', ' ')}: {s['test'].get('test_' + m, float('nan')):.4g} vs "
                f"{s['baseline'].get(m, float('nan')):.4g}")
        out.print(line + (f" (skill {skill['value']:+.1%})" if skill else ""))
    else:
        beats = s.get("beats_baseline", {})
        won = [k for k, v in beats.items() if v]
        lost = [k for k, v in beats.items() if not v]
        if lost:
            out.print(f"model does NOT beat the baseline on: {', '.join(lost)}")
        if won:
            out.print(f"model beats the baseline on: {', '.join(won)}")
    if s.get("skipped_batches"):
        out.print(f"{s['skipped_batches']} optimizer steps were skipped for NaN/inf "
                  "(nan_policy: skip)")
    if run_dir:
        out.print(f"run directory: {run_dir}")


def register(app: typer.Typer) -> None:
    app.command()(run)
