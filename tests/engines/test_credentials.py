"""Server credentials go only where they are bound: a fake PostgreSQL server on 127.0.0.1 records
every byte a client sends, so a test can see whether a user name or a password reached it.

(a) a contract reusing a credential's server id with its own host gets no connection at all and a
clear error; (b) with the credential bound to the fake server's host:port, the startup and
password messages do arrive, which shows the fake server would see a leak.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.engines.credentials import CredentialError, bound_credential, same_host
from meshplane.engines.postgres import DEFAULT_PORT, connection_params, dsn_location
from meshplane.service.testing import run_contract
from meshplane.spec.loader import load_contract
from meshplane.spec.odcs import Server

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104
PREFIX = "MESHPLANE_SERVER_PROD_PG_"


class FakePostgres:
    """A socket on 127.0.0.1 speaking just enough of the protocol to be sent a password.

    It refuses SSL and GSS encryption, asks for a cleartext password after the startup message,
    records the password message, then answers with an error. Every byte received is kept.
    """

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self.received = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def recorded(self) -> bytes:
        with self._lock:
            return bytes(self.received)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with self._lock:
                self.connections += 1
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):  # the client hung up
                    self._talk(conn)

    def _read(self, conn: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        with self._lock:
            self.received += data
        return data

    def _talk(self, conn: socket.socket) -> None:
        while True:  # untyped messages: SSLRequest / GSSENCRequest, then the startup message
            (length,) = struct.unpack("!i", self._read(conn, 4))
            body = self._read(conn, length - 4)
            if struct.unpack("!i", body[:4])[0] in (SSL_REQUEST, GSSENC_REQUEST):
                conn.sendall(b"N")
                continue
            break
        conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        kind = self._read(conn, 1)
        (length,) = struct.unpack("!i", self._read(conn, 4))
        self._read(conn, length - 4)
        if kind == b"p":
            fields = b"SFATAL\x00C28P01\x00Mfake server: password recorded\x00\x00"
            conn.sendall(b"E" + struct.pack("!i", 4 + len(fields)) + fields)


@pytest.fixture
def fake() -> Iterator[FakePostgres]:
    server = FakePostgres()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch) -> None:
    for name in ("PGPASSWORD", "PGUSER", "PGSERVICE", "PGPASSFILE", "MESHPLANE_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    for suffix in ("USERNAME", "PASSWORD", "DSN", "HOST", "PORT", "DATABASE"):
        monkeypatch.delenv(PREFIX + suffix, raising=False)


def _contract(tmp_path, host: str, port: int, database: str = "sales") -> Any:
    server = {"server": "prod-pg", "type": "postgres", "host": host, "port": port, "database": database,
              "schema": "public"}  # fmt: skip
    doc = {"apiVersion": "v3.1.0", "kind": "DataContract", "id": "untrusted", "version": "1.0.0",
           "status": "active", "servers": [server], "schema": [{"name": "orders"}]}  # fmt: skip
    path = tmp_path / "untrusted.odcs.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _run(path):
    loaded = load_contract(path)
    assert loaded.ok and loaded.model is not None, loaded.diagnostics
    return run_contract(loaded.model, base_dir=path.parent, clock=lambda: NOW)


def _settle() -> None:
    time.sleep(0.3)  # a connection would have been accepted by now


def _set(monkeypatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(PREFIX + name.upper(), value)


# -- against the fake server ----------------------------------------------------------------------


def test_a_credential_is_not_sent_to_a_host_it_is_not_bound_to(fake, tmp_path, monkeypatch) -> None:
    _set(monkeypatch, username="prod_user", password="s3cret", host="db.internal", database="sales")
    run = _run(_contract(tmp_path, "127.0.0.1", fake.port))
    _settle()
    assert fake.connections == 0 and fake.recorded() == b""
    assert run.result.value == "error" and run.error
    assert "server 'prod-pg' declares 127.0.0.1:" + str(fake.port) in run.error
    assert "bound to db.internal:5432/sales" in run.error and "nothing was connected" in run.error
    assert "s3cret" not in run.error and "prod_user" not in run.error


def test_a_bound_credential_reaches_its_server(fake, tmp_path, monkeypatch) -> None:
    _set(monkeypatch, username="prod_user", password="s3cret", host="127.0.0.1", port=str(fake.port))
    run = _run(_contract(tmp_path, "127.0.0.1", fake.port))
    assert run.result.value == "error" and "password recorded" in (run.error or "")
    seen = fake.recorded()
    assert fake.connections >= 1
    assert b"user\x00prod_user\x00" in seen and b"database\x00sales\x00" in seen  # the startup message
    assert b"p\x00\x00\x00\x0bs3cret\x00" in seen  # the password message


def test_the_cli_reports_the_mismatch_as_an_error_run(fake, tmp_path, monkeypatch) -> None:
    _set(monkeypatch, username="prod_user", password="s3cret", host="db.internal")
    result = CliRunner().invoke(app, ["test", "-q", str(_contract(tmp_path, "127.0.0.1", fake.port))])
    _settle()
    assert fake.connections == 0
    assert result.exit_code == 2, result.output
    assert "bound to db.internal:5432" in result.output and "s3cret" not in result.output


@pytest.mark.parametrize(
    ("binding", "problem"),
    [
        ({"port": "1"}, "another port"),
        ({"port": "FAKE", "database": "finance"}, "another database"),
        ({}, "another port"),  # no _PORT: bound to 5432
    ],
)
def test_port_and_database_are_part_of_the_binding(fake, tmp_path, monkeypatch, binding, problem) -> None:
    binding = {key: str(fake.port) if value == "FAKE" else value for key, value in binding.items()}
    _set(monkeypatch, username="prod_user", password="s3cret", host="127.0.0.1", **binding)
    run = _run(_contract(tmp_path, "127.0.0.1", fake.port))
    _settle()
    assert fake.connections == 0 and run.error and problem in run.error


def test_an_unbound_secret_is_refused_with_how_to_bind_it(fake, tmp_path, monkeypatch) -> None:
    _set(monkeypatch, username="prod_user", password="s3cret")  # today's variables, no binding
    run = _run(_contract(tmp_path, "127.0.0.1", fake.port))
    _settle()
    assert fake.connections == 0 and run.result.value == "error" and run.error
    assert "bound to no host" in run.error and "set MESHPLANE_SERVER_PROD_PG_HOST" in run.error


def test_a_dsn_is_bound_to_the_location_it_names(fake, tmp_path, monkeypatch) -> None:
    _set(monkeypatch, dsn="postgresql://prod_user:s3cret@db.internal:5432/sales")
    run = _run(_contract(tmp_path, "127.0.0.1", fake.port))
    _settle()
    assert fake.connections == 0 and run.error and "bound to db.internal:5432/sales" in run.error
    assert "s3cret" not in run.error
    _set(monkeypatch, dsn=f"host=127.0.0.1 port={fake.port} dbname=sales user=prod_user password=s3cret")
    run = _run(_contract(tmp_path, "127.0.0.1", fake.port))
    assert b"user\x00prod_user\x00" in fake.recorded() and b"s3cret" in fake.recorded()


def test_pgpassword_is_never_sent_to_a_contract_server(fake, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "ambient-secret")
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-pgpass"))
    run = _run(_contract(tmp_path, "127.0.0.1", fake.port))
    assert fake.connections >= 1  # libpq's defaults still connect (trust, ~/.pgpass, certificates)
    assert b"ambient-secret" not in fake.recorded()
    assert run.error and "PGPASSWORD is not sent" in run.error


# -- the binding rules (no connection) -------------------------------------------------------------


def _server(**fields: Any) -> Server:
    return Server(server="prod-pg", type="postgres", **fields)


def test_hosts_compare_case_insensitively_and_the_port_defaults() -> None:
    env = {PREFIX + "USERNAME": "u", PREFIX + "PASSWORD": "p", PREFIX + "HOST": "DB.Internal."}
    params = connection_params(_server(host="db.internal", database="sales"), env)
    assert (params["host"], params["user"], params["password"]) == ("db.internal", "u", "p")
    params = connection_params(_server(host="[DB.INTERNAL]", port="5432"), env)
    assert params["port"] == "5432"
    assert same_host("[::1]", "::1") and not same_host("localhost", "127.0.0.1")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"port": 5432}, "the server declares no host"),
        ({"host": "db.internal,evil.example"}, "another host"),
        ({"host": "db.internal", "port": "five"}, "not a port number"),
        ({"host": "db.internal.evil.example"}, "another host"),
    ],
)
def test_declared_locations_that_do_not_match(fields, problem) -> None:
    env = {PREFIX + "PASSWORD": "p", PREFIX + "HOST": "db.internal"}
    with pytest.raises(CredentialError, match=problem):
        connection_params(_server(**fields), env)


def test_bad_bindings_are_named() -> None:
    with pytest.raises(CredentialError, match="MESHPLANE_SERVER_PROD_PG_PORT is not a port"):
        connection_params(_server(host="h"), {PREFIX + "PASSWORD": "p", PREFIX + "HOST": "h", PREFIX + "PORT": "x"})
    with pytest.raises(CredentialError, match="MESHPLANE_SERVER_PROD_PG_DSN names no host"):
        connection_params(_server(host="h"), {PREFIX + "DSN": "dbname=sales user=u password=p"})
    with pytest.raises(CredentialError, match="is not a connection string") as caught:
        connection_params(_server(host="h"), {PREFIX + "DSN": "password=hunter2 broken"})
    assert "hunter2" not in str(caught.value)


def test_no_secret_means_no_credential_and_no_pgpassword() -> None:
    server = _server(host="db.internal", port=6432, database="sales")
    assert bound_credential(server, default_port=DEFAULT_PORT, environ={}) is None
    params = connection_params(server, {})
    assert params["password"] == "" and "user" not in params  # empty, not unset: libpq ignores PGPASSWORD


def test_a_dsn_keeps_its_own_password() -> None:
    env = {PREFIX + "DSN": "postgresql+psycopg://u:p@db.internal/sales?sslmode=require"}
    params = connection_params(_server(host="db.internal", database="sales"), env)
    assert params["conninfo"] == "postgresql://u:p@db.internal/sales?sslmode=require" and "password" not in params
    assert dsn_location("host=a port=6 dbname=d").shown() == "a:6/d"
