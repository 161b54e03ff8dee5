"""``seqforge generate RUN``: sample text from a trained language model.

``seqforge generate RUN --prompt "def " --length 300 --temperature 0.8 --top-k 20
[--top-p 0.9] [--seed 1] [--num-samples 3]`` loads a trained run and prints the prompt
followed by its sampled continuation. A prompt character the model never saw in training
is an error listing those characters (exit status 2), never a silent ``<unk>``. An empty
prompt (char level) starts the text at the beginning of a line. Registered by
:mod:`seqforge.builtins.commands` through the ``register_commands`` hook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

def _saved_vocab(run, checkpoint: str):
    """The vocabulary the run was trained with (from its checkpoint), else the rebuilt one.

    The run's data is re-read on load; if the text changed since, its vocabulary may too,
    and ids would then map to the wrong characters — the checkpoint's copy cannot drift.
    """
    from ..data.transforms.vocab import Vocab
    from ..engine.checkpoint import load_checkpoint

    ck_dir = Path(run.dir) / "checkpoints"
    path = ck_dir / f"{checkpoint}.pt"
    if not path.exists():
        path = ck_dir / "last.pt"
    saved = load_checkpoint(path, map_location="cpu").get("transforms", {}).get("vocab")
    return Vocab.from_dict(saved) if saved else run.bundle.info.vocab


def generate_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory of a language model.")],
    prompt: Annotated[str, typer.Option(help="Text to continue; empty: start of a line.")] = "",
    length: Annotated[int, typer.Option(min=0, help="Tokens (characters) to generate.")] = 300,
    temperature: Annotated[float, typer.Option(
        min=0.0, help="Softmax temperature: <1 safer, >1 wilder, 0 greedy.")] = 0.8,
    top_k: Annotated[Optional[int], typer.Option(
        "--top-k", min=1, help="Sample only among the K most probable tokens.")] = None,
    top_p: Annotated[Optional[float], typer.Option(
        "--top-p", min=0.0, max=1.0, help="Nucleus: the smallest set with probability >= P.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed for reproducible samples.")] = None,
    num_samples: Annotated[int, typer.Option(
        "--num-samples", "-n", min=1, help="Independent samples to print.")] = 1,
    checkpoint: Annotated[str, typer.Option(help="best or last")] = "best",
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N")] = "cpu",
):
    """Sample text from a trained language model, continuing a prompt."""
    from ..errors import DataError, RunDirError

    if top_p is not None and top_p <= 0:
        raise DataError("--top-p must be greater than 0", source="--top-p")
    from ..api import load_run
    from ..inference.sampling import generate, with_prompt

    run = load_run(run_dir, device=device, checkpoint=checkpoint)
    meta = run.bundle.info.meta
    if run.spec.task.name != "language_model" or "level" not in meta:
        raise RunDirError(f"{run_dir}: not a language-model run (task {run.spec.task.name!r})")
    vocab = _saved_vocab(run, checkpoint)
    texts = generate(run.model, vocab, prompt, length, temperature=temperature, top_k=top_k,
                     top_p=top_p, seed=seed, num_samples=num_samples, level=meta["level"],
                     device=run.device)
    for i, text in enumerate(texts):
        if num_samples > 1:
            typer.echo(f"--- sample {i + 1} ---")
        typer.echo(with_prompt(prompt, text, meta["level"]))
