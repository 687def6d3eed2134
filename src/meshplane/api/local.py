"""A meshplane server inside this process, on 127.0.0.1 and an ephemeral port (for the demo and tools).

`meshplane serve` is the way to run the platform server; this is for a process that needs a real
HTTP endpoint for a moment (the demo sends OpenLineage events through the real client to it).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

from meshplane.diagnostics import MeshplaneError
from meshplane.registry import Registry


class LocalServer:
    """Serve `registry` with the meshplane API on 127.0.0.1 in a background thread, as a context manager."""

    def __init__(self, registry: Registry, *, start_timeout: float = 20.0) -> None:
        import uvicorn

        from meshplane.api.app import create_app

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(create_app(registry), log_level="warning", access_log=False, log_config=None)
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
