"""``seqforge translate RUN "July 24, 2004"``: decode with a trained seq2seq run (greedy,
or ``--beam K``). Registered by :mod:`seqforge.builtins.commands` through the
``register_commands`` hook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def translate_texts(run, texts: list[tuple[str, str, Optional[int]]], beam: int) -> list[dict]:
    """Rows (source, prediction[, score]) for ``(text, where, line)`` sources of a seq2seq run."""
    from ..data.sources.seq2seq import encode_source
    from ..engine.evaluate import eval_mode, item_batches, to_device
    from ..errors import RunDirError
    from ..tasks.seq2seq import Seq2Seq

    if not isinstance(run.task, Seq2Seq):
        raise RunDirError(f"{run.dir}: translate needs a seq2seq run, but this run's task is "
                          f"{run.spec.task.name!r} — use seqforge predict")
    items = [encode_source(t, run.info, source=where, line=line) for t, where, line in texts]
    rows: list[dict] = []
    with eval_mode(run.model):
        for batch in item_batches(items, run.source.collate):
            rows.extend(run.task.predict(run.model, to_device(batch, run.device), beam=beam))
    return rows


def translate(
    run_dir: Annotated[Path, typer.Argument(help="A seq2seq run directory (runs/NAME/TIMESTAMP).")],
    text: Annotated[Optional[list[str]], typer.Argument(
        help="Source strings, e.g. \"July 24, 2004\".", show_default=False)] = None,
    input: Annotated[Optional[Path], typer.Option(
        "--input", "-i", help="Text file with one source string per line.")] = None,
    beam: Annotated[int, typer.Option("--beam", "-k", min=1, max=64,
                                      help="Beam width; 1 = greedy decoding.")] = 1,
    out: Annotated[Optional[Path], typer.Option(help="Write a CSV here instead of printing.")] = None,
    device: Annotated[str, typer.Option()] = "cpu",
):
    """Translate source strings with a trained seq2seq run (greedy, or --beam K)."""
    from ..errors import DataError

    if not text and input is None:
        raise DataError("nothing to translate: give source strings or --input FILE",
                        source="translate")
    if input is not None and not input.exists():
        raise DataError("input file not found", source=str(input))
    from ..api import load_run

    run = load_run(run_dir, device=device)
    sources: list[tuple[str, str, Optional[int]]] = [(t, "argument", None) for t in text or []]
    if input is not None:
        items = run.source.read_inputs(input, run.info)  # checks each line
        sources += [(it["src"], str(input), None) for it in items]
    rows = translate_texts(run, sources, beam)
    if out is not None:
        from ..data.io.rows import write_rows

        write_rows(rows, out)
        typer.echo(f"{len(rows)} translations written to {out}")
        return
    for r in rows:
        score = f"  (score {r['score']:.4f})" if "score" in r else ""
        typer.echo(f"{r['source']} → {r['prediction']}{score}")
