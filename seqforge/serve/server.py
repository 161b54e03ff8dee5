"""Serving a run over HTTP with uvicorn: on a socket bound here, in the foreground
(``seqforge serve``) or on a background thread (:class:`BackgroundServer`: tests, the
load benchmark, notebooks).

The socket is bound before uvicorn starts, so a port in use (or a host that is not this
machine's) is a clear :class:`ServeError` — exit status 2 from the CLI — and ``port=0``
takes a free port, reported back (``server.url``).
"""

from __future__ import annotations

import errno
import socket
import threading
import time

from ..errors import SeqforgeError
from .app import DEFAULT_MAX_BODY, create_app


class ServeError(SeqforgeError):
    """The server cannot start: its extra is missing, or it cannot listen where asked."""


def require_extra() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        raise ServeError(f"seqforge serve needs the serve extra ({e.name} is not installed): "
                         "pip install 'seqforge[serve]'") from None


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); ServeError naming the problem."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ServeError(f"--host {host!r}: not an address of this machine ({e.strerror})") from None
    family, kind, proto, _, addr = infos[0]
    # proto must say TCP: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto
    # is IPPROTO_TCP — with proto 0 every keep-alive response waited ~40 ms for an ACK
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restarts reuse TIME_WAIT
    try:
        sock.bind(addr)
        sock.listen(2048)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ServeError(f"port {port} on {host} is in use: stop what listens there or "
                             "choose another with --port (--port 0 picks a free one)") from None
        if e.errno in (errno.EACCES, errno.EPERM):
            raise ServeError(f"port {port} on {host}: permission denied (ports below 1024 "
                             "need privileges; choose another with --port)") from None
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


def _config(run, max_body: int, access_log: bool):
    import uvicorn

    return uvicorn.Config(create_app(run, max_body=max_body), log_level="warning",
                          access_log=access_log, lifespan="off", timeout_keep_alive=30)


def serve(run, sock: socket.socket, *, max_body: int = DEFAULT_MAX_BODY,
          access_log: bool = True) -> None:
    """Serve in the foreground until Ctrl-C / SIGTERM (uvicorn's own shutdown)."""
    import uvicorn

    config = _config(run, max_body, access_log)
    if access_log:
        config.log_level = "info"
    uvicorn.Server(config).run(sockets=[sock])


class BackgroundServer:
    """``with BackgroundServer(run) as s: requests to s.url`` — a real uvicorn server on a
    thread, on 127.0.0.1 and a free port unless told otherwise; stopped on exit."""

    def __init__(self, run, *, host: str = "127.0.0.1", port: int = 0,
                 max_body: int = DEFAULT_MAX_BODY):
        import uvicorn

        require_extra()
        self.sock = bind(host, port)
        self.url = url_of(self.sock)
        self.server = uvicorn.Server(_config(run, max_body, access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True, name="seqforge-serve")

    def __enter__(self) -> "BackgroundServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ServeError("the server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()
