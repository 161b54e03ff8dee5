"""Request bodies are bounded: a pure ASGI middleware counting bytes as they arrive.

A declared ``Content-Length`` over the limit is refused before any of the body is read;
a chunked body is counted while it streams and refused the moment it passes the limit
(:class:`BadRequest`, which the app answers) — either way a 413 JSON error, and the
server never holds more than the limit in memory.
"""

from __future__ import annotations

import json


class BadRequest(Exception):
    """A request the server refuses: its status (4xx) and a message for the client."""

    def __init__(self, status: int, message: str):
        self.status, self.message = status, message
        super().__init__(message)


class BodyLimit:
    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                return await self._refuse(send, 400, "the Content-Length header is not a number")
            if too_big:
                return await self._refuse(send, 413, self._message(int(declared)))
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # the app's handler answers 413
                    raise BadRequest(413, self._message(seen))
            return message

        await self.app(scope, counted, send)

    def _message(self, n: int) -> str:
        return (f"the request body is {n:,} bytes or more; this server takes at most "
                f"{self.max_bytes:,} (seqforge serve --max-body-mb)")

    @staticmethod
    async def _refuse(send, status: int, message: str) -> None:
        body = json.dumps({"error": message, "status": status}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
