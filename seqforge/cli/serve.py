"""``seqforge serve RUN``: the run as an HTTP JSON API (``/predict``, ``/metadata``,
``/health``) on uvicorn; the ``serve`` extra."""

from __future__ import annotations

from typing import Annotated

import typer

from . import options
from .predict import RunArg


def serve(run_dir: RunArg,
          host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every "
                                                 "interface).")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 8000,
          max_body_mb: Annotated[float, typer.Option(
              help="Largest request body accepted, in MiB (larger: 413).")] = 10.0,
          device: options.DeviceOpt = "cpu",
          access_log: Annotated[bool, typer.Option(
              "--access-log/--no-access-log", help="One log line per request.")] = True):
    """Serve a trained run over HTTP: POST /predict (JSON table or file), GET /metadata."""
    options.device("--device", device)
    if not 0 <= port <= 65535:
        raise options.OptionError("--port", f"must be 0–65535 (got {port})")
    if max_body_mb <= 0:
        raise options.OptionError("--max-body-mb", f"must be positive (got {max_body_mb})")
    from ..serve.server import bind, require_extra, serve as run_server, url_of

    require_extra()
    from ..api import load_run

    run = load_run(run_dir, device=device)  # a missing or broken run: exit 2 before binding
    sock = bind(host, port)
    url = url_of(sock)
    typer.echo(f"serving {run.spec.name} ({run.spec.task.name}) from {run_dir} at {url}\n"
               f"  POST {url}/predict · GET {url}/metadata · GET {url}/health · docs {url}/docs"
               "\n  Ctrl-C stops", err=True)
    run_server(run, sock, max_body=int(max_body_mb * (1 << 20)), access_log=access_log)


def register(app: typer.Typer) -> None:
    app.command()(serve)
