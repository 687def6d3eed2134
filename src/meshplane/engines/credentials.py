"""Server credentials from the environment, bound to the location they belong to.

Contracts never hold secrets (ODCS leaves them out). An engine that needs a user name, a password
or a connection string reads ``MESHPLANE_SERVER_<SERVER>_<NAME>``, where ``<SERVER>`` is the
server's `server` field upper-cased with every character other than A-Z and 0-9 replaced by
``_``: server ``prod-pg`` → ``MESHPLANE_SERVER_PROD_PG_USERNAME``.

A server id is only a name, and anyone who writes a contract chooses it. A secret is therefore
bound to where it may go: ``MESHPLANE_SERVER_<SERVER>_HOST`` (required), ``_PORT`` (the type's
default port when unset) and ``_DATABASE`` (any database of that host:port when unset), or, for a
connection string (``_DSN``), the host, port and database the string itself names. A secret is
handed to an engine only when the contract's server declares the same location (host compared
case-insensitively, port with the type's default when omitted); otherwise `bound_credential`
raises `CredentialError` before anything is connected, naming the server and both locations.
A secret without a binding is refused with a message that says which variables bind it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from meshplane.engines.base import EngineError

if TYPE_CHECKING:
    from meshplane.spec.odcs import Server

PREFIX = "MESHPLANE_SERVER_"
SECRETS = ("USERNAME", "PASSWORD", "DSN")
"""The variables holding secrets; any of them set makes the server's credential."""
BINDING = ("HOST", "PORT", "DATABASE")
"""The variables binding ``USERNAME`` / ``PASSWORD`` to a location (a DSN names its own)."""


class CredentialError(EngineError):
    """A credential is configured for a server but may not be sent to the location it declares."""


@dataclass(frozen=True)
class Location:
    """Where a server is (as a contract declares it) or where a credential may go (as it is bound)."""

    host: str | None
    port: int | None
    database: str | None = None

    def shown(self) -> str:
        """``host:port/database`` (``?`` for a missing host or port, no ``/…`` without a database)."""
        host = self.host or "?"
        text = f"[{host}]" if ":" in host else host
        text += f":{self.port if self.port is not None else '?'}"
        return text + (f"/{self.database}" if self.database else "")


@dataclass(frozen=True)
class Credential:
    """The secrets configured for one server, with the location they are bound to."""

    username: str | None
    password: str | None
    dsn: str | None
    bound: Location


def server_variable(server: Server | str, name: str) -> str:
    """The environment variable holding `name` (``USERNAME``, ``PASSWORD``, ``DSN``, ``HOST``…) of a server."""
    ident = server if isinstance(server, str) else server.server
    return f"{PREFIX}{re.sub(r'[^A-Z0-9]', '_', ident.upper())}_{name.upper()}"


def server_secret(server: Server | str, name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of a server's variable (None when unset or empty)."""
    value = (os.environ if environ is None else environ).get(server_variable(server, name), "")
    return value or None


def same_host(a: str, b: str) -> bool:
    """Host names compared as DNS does: case-insensitively, without brackets or a final dot."""
    return _host_key(a) == _host_key(b)


def _host_key(host: str) -> str:
    return host.strip().removeprefix("[").removesuffix("]").rstrip(".").lower()


def _port(value: object) -> int | None:
    """A port number from a setting or a variable (None when it is not one)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 65536 else None
    text = str(value).strip()
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


def declared_location(server: Server, default_port: int) -> Location:
    """The location a contract's server declares: ``host``, ``port`` (else the default), ``database``."""
    host = server.setting("host")
    raw_port = server.setting("port")
    port = default_port if raw_port in (None, "") else _port(raw_port)
    database = server.setting("database")
    return Location(
        str(host) if host not in (None, "") else None, port, str(database) if database not in (None, "") else None
    )


def bound_credential(
    server: Server,
    *,
    default_port: int,
    environ: Mapping[str, str] | None = None,
    dsn_location: Callable[[str], Location] | None = None,
) -> Credential | None:
    """The server's credential when its binding matches the location the server declares.

    None when no secret is configured for the server id. Raises `CredentialError` when a secret
    is configured but not bound (no ``_HOST``, a DSN without a host), bound badly (a ``_PORT``
    that is not a port) or bound elsewhere than the server declares. `dsn_location` reads the
    host, port and database of a connection string (a type without DSNs passes None).
    """
    env = os.environ if environ is None else environ
    username = server_secret(server, "USERNAME", env)
    password = server_secret(server, "PASSWORD", env)
    dsn = server_secret(server, "DSN", env) if dsn_location else None
    if not (username or password or dsn):
        return None
    names = server_variable(server, "*")
    if dsn and dsn_location:
        try:
            bound = dsn_location(dsn)
        except CredentialError as exc:
            raise CredentialError(f"server '{server.server}': {server_variable(server, 'DSN')}: {exc}") from None
        if bound.host is None:
            raise CredentialError(
                f"server '{server.server}': {server_variable(server, 'DSN')} names no host, so it is bound to no "
                "server; put the host (and port, database) it belongs to in the connection string"
            )
        bound = Location(bound.host, default_port if bound.port is None else bound.port, bound.database)
    else:
        bound = _variable_binding(server, default_port, env)
    declared = declared_location(server, default_port)
    problem = _mismatch(declared, bound)
    if problem:
        raise CredentialError(
            f"server '{server.server}' declares {declared.shown()}, but its credentials ({names}) are bound to "
            f"{bound.shown()} ({problem}): they are not sent, nothing was connected"
        )
    return Credential(username, password, dsn, bound)


def _variable_binding(server: Server, default_port: int, env: Mapping[str, str]) -> Location:
    host = server_secret(server, "HOST", env)
    if host is None:
        raise CredentialError(
            f"server '{server.server}': its credentials ({server_variable(server, '*')}) are bound to no host; "
            f"set {server_variable(server, 'HOST')} (and {server_variable(server, 'PORT')}, "
            f"{server_variable(server, 'DATABASE')}) to the server they belong to"
        )
    raw_port = server_secret(server, "PORT", env)
    port = default_port if raw_port is None else _port(raw_port)
    if port is None:
        raise CredentialError(
            f"server '{server.server}': {server_variable(server, 'PORT')} is not a port: {raw_port!r}"
        )
    return Location(host, port, server_secret(server, "DATABASE", env))


def _mismatch(declared: Location, bound: Location) -> str | None:
    """What differs between where a server is declared and where its credential may go (None: nothing)."""
    if declared.host is None:
        return "the server declares no host"
    if bound.host is None or not same_host(declared.host, bound.host):
        return "another host"
    if declared.port is None:
        return "the server's port is not a port number"
    if declared.port != bound.port:
        return "another port"
    if bound.database is not None and declared.database != bound.database:
        return "another database"
    return None


__all__ = [
    "BINDING",
    "PREFIX",
    "SECRETS",
    "Credential",
    "CredentialError",
    "Location",
    "bound_credential",
    "declared_location",
    "same_host",
    "server_secret",
    "server_variable",
]
