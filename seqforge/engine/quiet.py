"""Silence the libraries seqforge drives (exporters, trackers) unless asked to speak.

ONNX export, MLflow and their dependencies print progress lines, log INFO messages and
raise FutureWarnings/DeprecationWarnings meant for their own developers; a seqforge user
sees none of it unless a command is run with ``--verbose``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator

#: loggers of the libraries seqforge calls, held at ERROR while they work
NOISY = ("torch.onnx", "torch.export", "torch._export", "torch._dynamo", "torch.fx",
         "onnxscript", "onnx_ir", "onnxruntime", "mlflow", "alembic", "sqlalchemy", "optuna",
         "tensorboard")


@contextlib.contextmanager
def quiet(verbose: bool = False, *, streams: bool = False) -> Iterator[io.StringIO]:
    """Warnings off and library loggers at ERROR inside the block; ``streams``: also
    capture what is printed (yielded, for a message when something fails)."""
    buf = io.StringIO()
    if verbose:
        yield buf
        return
    levels = {name: logging.getLogger(name).level for name in NOISY}
    with contextlib.ExitStack() as stack:
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        for name in NOISY:
            logging.getLogger(name).setLevel(logging.ERROR)
        if streams:
            stack.enter_context(contextlib.redirect_stdout(buf))
            stack.enter_context(contextlib.redirect_stderr(buf))
        try:
            yield buf
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)
