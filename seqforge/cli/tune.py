"""``seqforge tune SPEC``: hyperparameter search over the spec's ``tune:`` section (Optuna).

Each trial is an ordinary run directory under ``<out>/<name>/trials/``; the study writes
``trials.csv``, ``study.json``, ``best.yaml`` (``seqforge run`` accepts it) and
``study.png``. Running the same command again resumes the study; several processes given
the same ``--out`` (or ``--storage``) work on one study together — ``--workers N`` starts
N-1 more on this machine.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import options
from .options import SetOpt
from .output import console, table


def tune(spec: Annotated[Path, typer.Argument(help="A YAML spec with a tune: section.")],
         set_: SetOpt = None,
         out: Annotated[Path, typer.Option(help="Root folder of study directories.")] = Path("studies"),
         trials: Annotated[Optional[int], typer.Option(
             help="Total trials of the study (tune.trials).")] = None,
         timeout: Annotated[Optional[float], typer.Option(
             help="Seconds this worker may start trials for (tune.timeout).")] = None,
         storage: Annotated[Optional[str], typer.Option(
             help="A journal file or an RDB URL (sqlite:///s.db, postgresql://…) shared by "
                  "workers; default <out>/<name>/study.journal.")] = None,
         workers: Annotated[int, typer.Option(help="Worker processes on this machine.")] = 1,
         quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No per-trial lines.")] = False,
         label: Annotated[str, typer.Option(hidden=True)] = ""):
    """Search the spec's tune.space with Optuna (TPE, pruning); resumable, scalable."""
    options.at_least("--workers", workers, 1)
    sets = list(set_ or [])
    if trials is not None:
        sets.append(f"tune.trials={options.at_least('--trials', trials, 1)}")
    if timeout is not None:
        if timeout <= 0:
            raise options.OptionError("--timeout", f"must be positive (got {timeout})")
        sets.append(f"tune.timeout={timeout}")
    from ..engine.interrupt import Interrupted
    from ..tune import prepare, run_worker
    from ..tune.report import write_report
    from ..tune.storage import describe

    job = prepare(spec, sets, out=out)
    echo = (lambda s: None) if quiet else (lambda s: typer.echo(f"{label}{s}", err=True))
    where = storage if storage is not None else job.storage
    children = _start_workers(spec, sets, out, storage, workers, quiet)
    try:
        res = run_worker(job, storage=storage, echo=echo)
    except (Interrupted, KeyboardInterrupt) as intr:
        _stop(children)
        typer.echo(f"{intr or 'interrupted'}: the study is saved in "
                   f"{describe(where, job.study_dir)}; the interrupted trial runs again first "
                   "when you resume with: " + shlex.join(
                       ["seqforge", "tune", str(spec), *_set_args(set_), "--out", str(out)]),
                   err=True)
        raise typer.Exit(getattr(intr, "exit_code", 130))
    failed = [p.wait() for p in children]
    study = res["study"]
    files = write_report(job, study, wall_s=res["wall_s"], storage=describe(where, job.study_dir))
    if any(failed):
        typer.echo(f"{sum(1 for f in failed if f)} worker process(es) failed (exit "
                   f"{', '.join(str(f) for f in failed if f)})", err=True)
        raise typer.Exit(max(failed))
    if label:  # a --workers child: the parent reports
        return
    _print(job, study, res, files)


def _set_args(sets) -> list[str]:
    return [a for s in sets or [] for a in ("--set", s)]


def _start_workers(spec: Path, sets: list[str], out: Path, storage: str | None,
                   workers: int, quiet: bool) -> list[subprocess.Popen]:
    """N-1 more ``seqforge tune`` processes on the same study (each prints its trials)."""
    procs = []
    for i in range(1, workers):
        argv = [sys.executable, "-m", "seqforge", "tune", str(spec), *_set_args(sets),
                "--out", str(out), "--label", f"[worker {i}] "] + (["--quiet"] if quiet else [])
        if storage is not None:
            argv += ["--storage", storage]
        procs.append(subprocess.Popen(argv))
    return procs


def _stop(children: list[subprocess.Popen]) -> None:
    """Children got the terminal's Ctrl-C too (one process group): they checkpoint and mark
    their trial interrupted, as this one did. Wait for them; end stragglers."""
    for p in children:
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.terminate()
            p.wait()


def _print(job, study, res, files) -> None:
    from ..tune.report import trial_rows

    rows = trial_rows(job, study)
    c = res["counts"]
    keys = [p.key for p in job.tune.params]
    short = [k.rsplit(".", 1)[-1] for k in keys]  # lr, hidden_size, cell: unless ambiguous
    heads = [s if short.count(s) == 1 else k for s, k in zip(short, keys)]
    t = table(f"study {job.study_name}: {len(rows)} trials, {job.metric} ({job.direction})",
              [("trial", "right"), ("state", "left"), (job.metric, "right"), ("epochs", "right"),
               ("s", "right")] + [(h, "right") for h in heads])
    sign = -1 if job.direction == "maximize" else 1
    ordered = sorted(rows, key=lambda r: (r["state"] != "COMPLETE", sign * (r[job.metric] or 0)
                                          if isinstance(r[job.metric], (int, float)) else 0))
    for r in ordered[:15]:
        v = r[job.metric]
        t.add_row(str(r["number"]), r["state"].lower(),
                  f"{v:.4g}" if isinstance(v, (int, float)) else "—", str(r["epochs"] or "—"),
                  f"{r['seconds']:.1f}" if r["seconds"] is not None else "—",
                  *[_fmt(r[k]) for k in keys])
    out = console(wide=True)
    out.print(t)
    if len(rows) > 15:
        out.print(f"… {len(rows) - 15} more in {files['trials']}")
    out.print(f"{c['COMPLETE']} complete, {c['PRUNED']} pruned, {c['FAIL']} failed; this "
              f"worker ran {len(res['ran'])} trial(s) in {res['wall_s']:.1f} s")
    from ..tune.report import best_trial

    best = best_trial(study)
    if best is not None and "best" in files:
        out.print(f"best: trial {best.number}, {job.metric} {best.value:.6g} — train it: "
                  f"seqforge run {files['best']}")
    out.print(f"study directory: {job.study_dir}")


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)


def register(app: typer.Typer) -> None:
    app.command()(tune)
