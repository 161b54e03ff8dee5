"""The ``seqforge`` command line: a thin typer layer over :mod:`seqforge.api`.

Heavy imports (torch, the engine) happen inside commands, so ``seqforge --help`` stays
fast. Bad input of any kind — spec, data, run directory — prints one clear paragraph and
exits with status 2; no traceback reaches the user.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .errors import SeqforgeError

app = typer.Typer(
    name="seqforge",
    help="Recurrent sequence models (RNN, LSTM, GRU …) declared in YAML: validate, train, "
         "predict, generate.",
    epilog="Installed plugins may add commands: `seqforge plugins` lists them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _err(text: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {text}",
                                                                markup=True)


def _fail(exc: SeqforgeError) -> None:
    from rich.markup import escape

    _err(escape(str(exc)))
    raise typer.Exit(exc.exit_code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"seqforge {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None):
    pass


SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", "-s", help="Override a spec value, e.g. --set train.epochs=3 (repeatable).")]


def _load(spec: Path, overrides):
    from .spec.validate import load_spec

    return load_spec(spec, overrides=overrides or [])


def _print_config(spec: Path, overrides) -> None:
    """The fully resolved spec as YAML: bases merged, overrides applied, every default."""
    from .spec.loader import dump_yaml

    typer.echo(dump_yaml(_load(spec, overrides).resolved()), nl=False)


@app.command()
def config(spec: Annotated[Path, typer.Argument(help="The YAML spec.")], set_: SetOpt = None):
    """Print the fully resolved spec (extends merged, --set applied, every default filled in)."""
    try:
        _print_config(spec, set_)
    except SeqforgeError as e:
        _fail(e)


@app.command()
def validate(spec: Annotated[Path, typer.Argument(help="The YAML spec.")],
             set_: SetOpt = None,
             dry_run: Annotated[bool, typer.Option(
                 "--dry-run/--no-dry-run", help="Push one tiny batch through model and loss.")] = True):
    """Check a spec (and, by default, one tiny batch through model and loss) without training."""
    try:
        s = _load(spec, set_)
        typer.echo(f"{spec}: spec is valid ({s.task.name}: {s.model.cell.name} × "
                   f"{s.model.num_layers} {s.model.topology.name} on {s.data.dataset.name})")
        if dry_run:
            from .api import dry_run as _dry

            info = _dry(s)
            typer.echo(f"trial batch ok: {info['train_examples']} train / {info['val_examples']} val / "
                       f"{info['test_examples']} test examples, {info['parameters']:,} parameters, "
                       f"output {list(info['output_shape'])}, loss {info['loss']:.4g}")
    except SeqforgeError as e:
        _fail(e)


@app.command()
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
    try:
        if print_config:
            return _print_config(spec, set_)
        if nproc and nproc > 1:
            from .distributed import launch

            raise typer.Exit(launch(nproc, sys.argv))
        from .api import train
        from .engine.loop import Interrupted

        if run_dir is not None and not resume:
            from .errors import RunDirError

            raise RunDirError(f"unexpected argument {str(run_dir)!r}: a run directory is only "
                              "given with --resume (seqforge run SPEC --resume RUN_DIR)")
        s = _load(spec, set_)
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
        _print_summary(r)
    except SeqforgeError as e:
        _fail(e)


def _interrupted(intr, spec: Path, overrides) -> None:
    """Say where the checkpoint is and the exact command that continues the run."""
    import shlex

    if intr.checkpoint is None:
        typer.echo(f"{intr}: no run directory, nothing saved", err=True)
    else:
        run_dir = intr.checkpoint.parent.parent
        sets = "".join(f" --set {shlex.quote(o)}" for o in overrides or [])
        typer.echo(f"{intr}: checkpoint written to {intr.checkpoint}\n"
                   f"resume with: seqforge run {shlex.quote(str(spec))}{sets} --resume "
                   f"{shlex.quote(str(run_dir))}", err=True)
    raise typer.Exit(intr.exit_code)


def _print_summary(r) -> None:
    from rich.console import Console
    from rich.table import Table

    s = r.summary
    if not s:  # a non-zero rank of a distributed run: rank 0 reports
        return
    console = Console(stderr=False)
    table = Table(title=f"{s['name']}: test metrics ({s['weights']} weights)")
    table.add_column("metric")
    table.add_column("model", justify="right")
    table.add_column(f"baseline: {s['baseline'].get('name', '')}", justify="right")
    base = s["baseline"]
    for k, v in s["test"].items():
        name = k.removeprefix("test_")
        b = base.get(name)
        table.add_row(name, f"{v:.4g}", f"{b:.4g}" if isinstance(b, (int, float)) else "—")
    console.print(table)
    beats = s.get("beats_baseline", {})
    if beats:
        won = [k for k, v in beats.items() if v]
        lost = [k for k, v in beats.items() if not v]
        if lost:
            console.print(f"model does NOT beat the baseline on: {', '.join(lost)}")
        if won:
            console.print(f"model beats the baseline on: {', '.join(won)}")
    if r.dir:
        console.print(f"run directory: {r.dir}")


@app.command()
def plugins(all_: Annotated[bool, typer.Option("--all", help="Include built-in components.")] = False):
    """List registered components: kind, name, providing plugin, version, origin."""
    import warnings

    from rich.console import Console
    from rich.table import Table

    from .errors import PluginError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            from .plugins import get_registry

            reg = get_registry()
        except PluginError as e:
            _fail(e)
    table = Table(title="seqforge components" + ("" if all_ else " from installed plugins (--all adds built-ins)"))
    for col in ("kind", "name", "plugin", "version", "origin", "description"):
        table.add_column(col)
    n = 0
    for e in reg:
        if e.origin == "builtin" and not all_:
            continue
        table.add_row(e.kind, e.name, e.plugin, e.version, e.origin, e.description[:60])
        n += 1
    console = Console(width=max(120, Console().width))
    console.print(table)
    if not n:
        console.print("no plugin components installed" + ("" if all_ else " (use --all to see the built-ins)"))
    for name, why in reg.failures:
        _err(f"warning: plugin {name!r} {why}; skipped")
    for w in caught:
        if "seqforge plugin" in str(w.message) and not any(n in str(w.message) for n, _ in reg.failures):
            _err(f"warning: {w.message}")


@app.command()
def schema(out: Annotated[Optional[Path], typer.Option(help="Write to a file instead of stdout.")] = None):
    """Print the JSON Schema of the spec (for editor completion and checking)."""
    import json

    from .spec.jsonschema import spec_json_schema

    text = json.dumps(spec_json_schema(), indent=2)
    if out:
        out.write_text(text + "\n")
    else:
        typer.echo(text)


RunArg = Annotated[Path, typer.Argument(help="A run directory (runs/NAME/TIMESTAMP).")]


@app.command()
def predict(run_dir: RunArg,
            input: Annotated[Path, typer.Option("--input", "-i", help="File of inputs, in the dataset's format.")],
            out: Annotated[Optional[Path], typer.Option(help="CSV to write (default: stdout).")] = None,
            device: Annotated[str, typer.Option()] = "cpu"):
    """Predict with a trained run on a file of new inputs; predictions go to a CSV."""
    try:
        from .api import load_run
        from .predict_io import predict_file

        r = load_run(run_dir, device=device)
        n = predict_file(r, input, out)
        if out:
            typer.echo(f"{n} predictions written to {out}")
    except SeqforgeError as e:
        _fail(e)


@app.command()
def evaluate(run_dir: RunArg,
             split: Annotated[str, typer.Option(help="train, val or test")] = "test",
             data: Annotated[Optional[list[str]], typer.Option(
                 "--data", help="Override a data key, e.g. --data source=other.csv")] = None,
             device: Annotated[str, typer.Option()] = "cpu"):
    """Score a trained run on a split (or other data), with its baseline beside it."""
    try:
        from .api import evaluate_run

        res = evaluate_run(run_dir, split=split, data=data or [], device=device)
        from rich.console import Console
        from rich.table import Table

        t = Table(title=f"{run_dir} — {split}")
        t.add_column("metric")
        t.add_column("model", justify="right")
        t.add_column(f"baseline: {res['baseline'].get('name', '')}", justify="right")
        for k, v in res["model"].items():
            b = res["baseline"].get(k.removeprefix(f"{split}_"))
            t.add_row(k.removeprefix(f"{split}_"), f"{v:.4g}", f"{b:.4g}" if isinstance(b, (int, float)) else "—")
        Console().print(t)
    except SeqforgeError as e:
        _fail(e)


@app.command()
def export(run_dir: RunArg,
           format: Annotated[str, typer.Option("--format", "-f", help="torch-export or onnx")] = "torch-export",
           out: Annotated[Optional[Path], typer.Option(help="Folder to write (default: RUN/export).")] = None):
    """Export a trained model to a portable format for serving without seqforge."""
    try:
        from .api import load_run
        from .export import FORMATS, ExportError, export_run
        from .errors import unknown_name_message

        if format not in FORMATS:  # before loading anything
            raise ExportError(unknown_name_message("export format", format, FORMATS))
        r = load_run(run_dir)
        res = export_run(r, out or Path(run_dir) / "export", format)
        typer.echo(f"exported to {res['path']} (inputs and transforms described in {res['meta']})")
    except SeqforgeError as e:
        _fail(e)


def main() -> None:
    """Console-script entry point: add plugin commands, then run the app."""
    if sys.argv[1:2] != ["--version"]:
        # built-in task commands (generate, translate, …) belong in --help too; their
        # modules import torch only inside the commands. Installed plugins' commands are
        # added whenever a command runs (scanning installed packages costs ~0.1 s).
        from .plugins import add_commands

        bare = len(sys.argv) < 2 or sys.argv[1] in ("--help", "-h")
        try:
            add_commands(app, installed=not bare)
        except Exception as exc:  # pragma: no cover - never let a plugin break the CLI
            _err(f"warning: plugin commands unavailable ({exc})")
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
