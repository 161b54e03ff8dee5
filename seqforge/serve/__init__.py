"""``seqforge serve RUN``: a run directory as an HTTP JSON API (``/predict``,
``/metadata``, ``/health``) — FastAPI on uvicorn, the ``serve`` extra.

:mod:`.app` is the ASGI application, :mod:`.limits` bounds request bodies, :mod:`.server`
binds the socket and runs uvicorn (foreground, or :class:`BackgroundServer` on a thread).
"""

from .server import BackgroundServer, ServeError, bind, serve

__all__ = ["BackgroundServer", "ServeError", "bind", "serve"]
