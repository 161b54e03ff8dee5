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

from . import options


def generate_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory of a language model.")],
    prompt: Annotated[str, typer.Option(help="Text to continue; empty: start of a line.")] = "",
    length: Annotated[int, typer.Option(min=0, max=1_000_000,
                                        help="Tokens (characters) to generate.")] = 300,
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
    from ..tasks.language_model import LanguageModel

    options.choice("--checkpoint", checkpoint, options.CHECKPOINTS, "checkpoint")
    options.device("--device", device)
    run = load_run(run_dir, device=device, checkpoint=checkpoint)
    if not isinstance(run.task, LanguageModel):
        raise RunDirError(f"{run_dir}: not a language-model run (task {run.spec.task.name!r})")
    level = run.task.level
    # the vocabulary saved with the run: ids can never drift from the characters trained on
    texts = generate(run.model, run.info.vocab, prompt, length, temperature=temperature,
                     top_k=top_k, top_p=top_p, seed=seed, num_samples=num_samples, level=level,
                     device=run.device)
    for i, text in enumerate(texts):
        if num_samples > 1:
            typer.echo(f"--- sample {i + 1} ---")
        typer.echo(with_prompt(prompt, text, level))
