"""The HTTP/1.1 protocol of `meshplane serve`: uvicorn's httptools protocol with a bound on request heads.

uvicorn bounds nothing of a request's line and headers with httptools (its `h11` limit applies to
h11 only): a client could send hundreds of megabytes of one header, which the parser buffers,
concatenating as it goes, on the event loop — a 200 MB header held `/health` for tens of seconds
(issue 19). `BoundedHttpToolsProtocol` counts the bytes of each request head as they arrive and,
beyond `MAX_HEAD_BYTES`, answers ``431 Request Header Fields Too Large`` (problem+json), drops what
else the client sends and closes the connection, before any of it is parsed. Bodies are not
counted here (the request guard bounds them).
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


def _refusal() -> bytes:
    body = json.dumps(
        {
            "type": "urn:meshplane:problem:headers-too-large",
            "title": "Request header fields too large",
            "status": 431,
            "detail": f"the request line and headers exceed {MAX_HEAD_BYTES} bytes (the limit)",
        }
    ).encode()
    head = (
        "HTTP/1.1 431 Request Header Fields Too Large\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


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

    def _refuse(self) -> None:
        self._refused = True
        self.logger.warning("request head over %d bytes from %s: 431", MAX_HEAD_BYTES, self.client)
        self.transport.write(_refusal())
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(DRAIN_SECONDS, self.transport.close)


__all__ = ["DRAIN_SECONDS", "MAX_HEAD_BYTES", "BoundedHttpToolsProtocol"]
