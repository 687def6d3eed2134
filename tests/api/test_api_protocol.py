"""Request heads are bounded (`meshplane.api.protocol`): 431 beyond 64 KiB, bodies and keep-alive untouched."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from api_support import LiveServer
from fastapi import FastAPI, Request

from meshplane.api.protocol import MAX_HEAD_BYTES


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """A bare ASGI app answering the size of what it received, behind `LocalServer` (the bounded protocol)."""
    app = FastAPI()

    @app.api_route("/echo", methods=["GET", "POST"])
    async def echo(request: Request) -> dict[str, int]:
        return {"body": len(await request.body()), "headers": len(request.headers)}

    with LiveServer(app) as live:
        yield live


def exchange(server: LiveServer, *pieces: bytes, pause: float = 0.0) -> list[tuple[int, bytes]]:
    """Send `pieces` on one connection (with `pause` between them); the answers read until the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        try:
            for piece in pieces:
                sock.sendall(piece)
                time.sleep(pause)
        except OSError:
            pass  # refused while sending: the answer is there to read
        time.sleep(0.3)  # uvicorn drops a pipelined request still queued when the client half-closes
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    answers = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(
            next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        )
        answers.append((int(head.split()[1]), rest[:length]))
        data = rest[length:]
    return answers


def request(path: str = "/echo", body: bytes = b"", **headers: str) -> bytes:
    lines = [f"{'POST' if body else 'GET'} {path} HTTP/1.1", "Host: x", f"Content-Length: {len(body)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_a_head_beyond_the_limit_is_431_naming_it(server: LiveServer) -> None:
    ((status, body),) = exchange(server, request(X_Padding="a" * (MAX_HEAD_BYTES + 1)))
    assert status == 431
    assert f"exceed {MAX_HEAD_BYTES} bytes" in json.loads(body)["detail"]


def test_a_head_sent_byte_by_byte_is_counted_across_pieces(server: LiveServer) -> None:
    head = request(X_Padding="a" * (MAX_HEAD_BYTES + 1))
    pieces = [head[i : i + 4096] for i in range(0, len(head), 4096)]
    assert exchange(server, *pieces, pause=0.001)[0][0] == 431


def test_large_bodies_and_keep_alive_requests_pass(server: LiveServer) -> None:
    big = b"x" * (4 * MAX_HEAD_BYTES)
    answers = exchange(
        server,
        request(body=big, X_Padding="a" * (MAX_HEAD_BYTES // 2)),
        request(X_Padding="b" * (MAX_HEAD_BYTES // 2)),  # each head is counted on its own
        request(body=big) + request(),  # pipelined, the second head right after a body
    )
    assert [status for status, _ in answers] == [200, 200, 200, 200]
    assert json.loads(answers[0][1])["body"] == len(big)


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"GET /echo HTTP/9.x\r\nHost: x\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        b"GET /echo HTTP/1.1\r\nHost x\r\n\r\n",
    ],
)
def test_a_request_that_is_not_http_is_400_problem_json(server: LiveServer, raw: bytes) -> None:
    [(status, body)] = exchange(server, raw)
    problem = json.loads(body)
    assert (status, problem["status"], problem["type"]) == (400, 400, "urn:meshplane:problem:invalid-http")
    assert "not valid HTTP/1.1" in problem["detail"]
    assert exchange(server, request())[0][0] == 200  # the server serves on
