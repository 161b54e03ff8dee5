"""Built-in task commands, added through the ``register_commands`` hook exactly as a
third-party plugin adds its own: ``seqforge generate`` (language models) and
``seqforge translate`` (seq2seq). Their modules import torch only inside the commands."""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    from seqforge.cli.generate import generate_command
    from seqforge.cli.translate import translate

    cli.command("generate")(generate_command)
    cli.command("translate")(translate)
