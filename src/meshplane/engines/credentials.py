"""Server credentials from the environment, named after the contract's server id.

Contracts never hold secrets (ODCS leaves them out). An engine that needs a user name, a password
or a connection string reads ``MESHPLANE_SERVER_<SERVER>_<NAME>``, where ``<SERVER>`` is the
server's `server` field upper-cased with every character other than A-Z and 0-9 replaced by
``_``: server ``prod-pg`` → ``MESHPLANE_SERVER_PROD_PG_USERNAME``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meshplane.spec.odcs import Server

PREFIX = "MESHPLANE_SERVER_"


def server_variable(server: Server | str, name: str) -> str:
    """The environment variable holding `name` (``USERNAME``, ``PASSWORD``, ``DSN``) for a server."""
    ident = server if isinstance(server, str) else server.server
    return f"{PREFIX}{re.sub(r'[^A-Z0-9]', '_', ident.upper())}_{name.upper()}"


def server_secret(server: Server | str, name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of a server's variable (None when unset or empty)."""
    value = (os.environ if environ is None else environ).get(server_variable(server, name), "")
    return value or None


__all__ = ["PREFIX", "server_secret", "server_variable"]
