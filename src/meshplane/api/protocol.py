"""The HTTP/1.1 protocol of `meshplane serve`: uvicorn's httptools protocol with a bound on request heads.

uvicorn bounds nothing of a request's line and headers with httptools (its `h11` limit applies to
h11 only): a client could send hundreds of megabytes of one header, which the parser buffers,
concatenating as it goes, on the event loop — a 200 MB header held `/health` for tens of seconds
(issue 19). `BoundedHttpToolsProtocol` counts the bytes of each request head as they arrive and,
beyond `MAX_HEAD_BYTES`, answers ``431 Request Header Fields Too Large`` (problem+json), drops what
else the client sends and closes the connection, before any of it is parsed. Bodies are not
counted here (the request guard bounds them).

A request httptools cannot parse (``Content-Length: -1``, a malformed request line or header, a
bad chunk size) is answered ``400`` as problem+json too (`invalid-http`), not uvicorn's plain text:
uvicorn calls `send_400_response` and closes the connection; the answer is the same few bytes.
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024
"""The largest request line plus headers accepted (bytes); a browser or client sends a few KB."""
DRAIN_SECONDS = 1.0
"""How long a refused connection's further bytes are dropped before it is closed (the client reads the 431)."""
_END_OF_HEAD = b"\r\n\r\n"


def _problem(status: int, reason: str, kind: str, title: str, detail: str) -> bytes:
    """A whole HTTP/1.1 answer with a problem+json body, closing the connection (`api.problems`' shape)."""
    body = json.dumps({"type": f"urn:meshplane:problem:{kind}", "title": title, "status": status, "detail": detail})
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body.encode()


def _refusal() -> bytes:
    detail = f"the request line and headers exceed {MAX_HEAD_BYTES} bytes (the limit)"
    title = "Request header fields too large"
    return _problem(431, "Request Header Fields Too Large", "headers-too-large", title, detail)


INVALID_HTTP = _problem(
    400,
    "Bad Request",
    "invalid-http",
    "Bad request",
    "the request is not valid HTTP/1.1 (its request line, a header, its Content-Length or a chunk size)",
)
"""The answer to a request httptools cannot parse."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request head beyond `MAX_HEAD_BYTES` with 431 (module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._tail = b""
        self._refused = False

    def on_headers_complete(self) -> None:
        """The head is whole: bytes from here on are the body's."""
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The next bytes begin the next request's head."""
        super().on_message_complete()
        self._in_head, self._head_bytes, self._tail = True, 0, b""

    def data_received(self, data: bytes) -> None:
        """Count the head's bytes before the parser sees them; refuse beyond the limit."""
        if self._refused:
            return
        if self._in_head:
            window = self._tail + data
            end = window.find(_END_OF_HEAD)
            self._head_bytes += len(data) if end < 0 else max(0, end + len(_END_OF_HEAD) - len(self._tail))
            self._tail = window[-(len(_END_OF_HEAD) - 1) :]
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse()
                return
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        """Answer a request httptools cannot parse with problem+json (`INVALID_HTTP`), and close the connection."""
        self.transport.write(INVALID_HTTP)
        self.transport.close()

    def _refuse(self) -> None:
        self._refused = True
        self.logger.warning("request head over %d bytes from %s: 431", MAX_HEAD_BYTES, self.client)
        self.transport.write(_refusal())
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(DRAIN_SECONDS, self.transport.close)


__all__ = ["DRAIN_SECONDS", "INVALID_HTTP", "MAX_HEAD_BYTES", "BoundedHttpToolsProtocol"]
