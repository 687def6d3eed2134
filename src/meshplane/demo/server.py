"""A meshplane server inside this process, on 127.0.0.1 and an ephemeral port (for the demo and tests).

`meshplane serve` is the way to run the platform server; this is for a process that needs a real
HTTP endpoint for a moment (the demo sends OpenLineage events through the real client to it; tests
drive real clients against it).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

from meshplane.diagnostics import MeshplaneError
from meshplane.registry import Registry


class LocalServer:
    """Serve an ASGI app (or the meshplane API over `Registry`) on 127.0.0.1 in a background thread.

    Use it as a context manager; `url` is the base URL while it runs.
    """

    def __init__(
        self,
        target: Registry | Any,
        *,
        access_log: bool = False,
        backlog: int = 512,
        start_timeout: float = 20.0,
    ) -> None:
        import uvicorn

        from meshplane.api.protocol import BoundedHttpToolsProtocol

        if isinstance(target, Registry):
            from meshplane.api.app import create_app

            target = create_app(target)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            target,
            http=BoundedHttpToolsProtocol,
            log_level="info" if access_log else "warning",
            access_log=access_log,
            log_config=None,
            backlog=backlog,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)
        self._start_timeout = start_timeout

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:43121``."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self._socket.close()
                raise MeshplaneError("the local meshplane server did not start")
            time.sleep(0.02)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.should_exit = True
        self._thread.join(self._start_timeout)
        self._socket.close()
