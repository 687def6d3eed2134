"""Hostile requests to a real `meshplane serve` (issue 19), on SQLite and PostgreSQL.

Each case is one request an attacker or a broken client could send. Every one must be refused
with a 4xx problem+json whose `detail` is one line naming what was wrong (and the limit, where one
applies), without a traceback or a 5xx in the server's log; while it runs the server stays under
500 MB RSS and `/health` answers within 100 ms (a probe process of its own); and the registry's
fingerprint (every row of every table) is the same afterwards. One server per backend serves the
whole module.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from hostile_support import Served, World, assert_clean_log, assert_refused, fingerprint

PRODUCER = "https://github.com/meshplane/hostile-suite"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
ORDERS = "domains/retail/products/sales/contracts/orders.odcs.yaml"
LEDGER = "domains/finance/products/ledger/contracts/ledger_entries.odcs.yaml"
JSON = {"Content-Type": "application/json"}
DEEP = 100_000


@dataclass
class Hostile:
    """One hostile request: what is sent (`raw`: bytes written to the socket as they are) and what must answer."""

    method: str
    path: str
    body: bytes = b""
    who: str = "admin"
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    says: tuple[str, ...] = ()
    raw: bytes | None = None


# --- building blocks -------------------------------------------------------------------------------


def event(**changes: object) -> dict[str, object]:
    """A valid OpenLineage RunEvent, with `changes` applied."""
    body: dict[str, object] = {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "airflow-marketing", "name": "performance.build_kpis"},
        "inputs": [],
        "outputs": [],
    }
    return body | changes


def with_statistics(key: str, value: object, where: str = "outputs") -> bytes:
    """An event with one dataset in `where` whose statistics facet has `key: value` (written as raw JSON)."""
    facets, facet = ("outputFacets", "outputStatistics") if where == "outputs" else ("inputFacets", "inputStatistics")
    dataset = {"namespace": "file", "name": "/lake/t", facets: {facet: {key: "__VALUE__"}}}
    return json.dumps(event(**{where: [dataset]})).replace('"__VALUE__"', str(value)).encode()


def bundle_files(world: World, changes: dict[str, str] | None = None) -> dict[str, str]:
    """Every YAML file of the world's mesh by relative path, some replaced."""
    files = {p.relative_to(world.mesh).as_posix(): p.read_text() for p in sorted(world.mesh.rglob("*.yaml"))}
    return files | (changes or {})


def apply_body(world: World, changes: dict[str, str] | None = None, **extra: object) -> bytes:
    """A `POST /api/v1/apply` body: the world's bundle with `changes`."""
    return json.dumps({"files": bundle_files(world, changes), **extra}).encode()


def billion_laughs(levels: int = 9) -> str:
    """Nine levels of ten aliases each: 10**9 "lol"s once expanded, in a few hundred bytes."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def run_of(contract: str) -> bytes:
    """A `POST /api/v1/test-runs` body with one run of `contract`."""
    run = {
        "contract": {"id": contract, "version": "1.0.0"},
        "server": "lake",
        "engine": "duckdb",
        "result": "passed",
        "startedAt": "2026-11-20T10:00:00Z",
        "finishedAt": "2026-11-20T10:00:02Z",
        "checks": [],
    }
    return json.dumps({"runs": [run]}).encode()


@functools.cache
def bomb() -> bytes:
    """64 MiB of zeros, gzip: about 65 KB."""
    return gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)


@functools.cache
def million_files() -> bytes:
    """A bundle of a million empty files (14 MiB), written as bytes: built in well under the server's keep-alive."""
    return b'{"files": {' + b", ".join(b'"f%d": ""' % i for i in range(1_000_000)) + b"}}"


def http_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    """The request line and headers of a raw HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# --- the cases -------------------------------------------------------------------------------------

CASES: dict[str, Callable[[World], Hostile]] = {
    # YAML in bundles (issue 19, Why 3 and 5)
    "billion-laughs bundle": lambda w: Hostile(
        "POST", "/api/v1/apply", apply_body(w, {ORDERS: billion_laughs()}), status=422, says=("100,000",)
    ),
    "billion-laughs bundle, dry run": lambda w: Hostile(
        "POST", "/api/v1/apply", apply_body(w, {ORDERS: billion_laughs()}, dryRun=True), status=422, says=("100,000",)
    ),
    "10,000-deep YAML nesting": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        apply_body(w, {ORDERS: "x: " + "[" * 10_000 + "]" * 10_000}),
        status=422,
        says=("100 levels",),
    ),
    "10,000-deep YAML block mappings": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        apply_body(w, {ORDERS: "".join(f"{' ' * i}k{i}:\n" for i in range(2_000)) + " " * 2_000 + "v: 1\n"}),
        status=422,
        says=("100 levels",),
    ),
    "recursive YAML alias": lambda w: Hostile(
        "POST", "/api/v1/apply", apply_body(w, {ORDERS: "a: &x [1, {b: *x}]\n"}), status=422, says=("recursive alias",)
    ),
    "more than 10,000 YAML aliases": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        apply_body(w, {ORDERS: "a: &a 1\nb: [" + ", ".join(["*a"] * 10_001) + "]\n"}),
        status=422,
        says=("10,000 aliases",),
    ),
    "YAML file beyond 8 MiB in a bundle": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        apply_body(w, {ORDERS: "x: '" + "a" * (8 * 1024 * 1024) + "'\n"}),
        status=422,
        says=("8,388,608",),
    ),
    "YAML with duplicate keys": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        apply_body(w, {ORDERS: Path(w.mesh / ORDERS).read_text() + "id: retail.sales.orders\n"}),
        status=422,
        says=("duplicate",),
    ),
    "YAML that is not a mapping": lambda w: Hostile(
        "POST", "/api/v1/apply", apply_body(w, {ORDERS: "- just\n- a list\n"}), status=422
    ),
    "bundle path escaping the repository": lambda w: Hostile(
        "POST", "/api/v1/apply", apply_body(w, {"../../etc/passwd.yaml": "a: 1\n"}), status=422, says=("..",)
    ),
    "bundle of 50,001 files": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        json.dumps({"files": {f"extra/f{i}.yaml": "" for i in range(50_001)}}).encode(),
        status=422,
        says=("at most 50000 files",),
    ),
    # JSON nesting (Why 5; the apply route named no limit)
    "100,000 nested [ in a lineage body": lambda w: Hostile(
        "POST", "/api/v1/lineage", b"[" * DEEP + b"]" * DEEP, status=400, says=("nested deeper than 1024",)
    ),
    "100,000 nested [ in an apply body": lambda w: Hostile(
        "POST", "/api/v1/apply", b'{"files":' + b"[" * DEEP + b"]" * DEEP + b"}", status=400, says=("nesting depth",)
    ),
    "100,000 nested { in a test-run body": lambda w: Hostile(
        "POST", "/api/v1/test-runs", b'{"a":' * DEEP + b"1" + b"}" * DEEP, status=400, says=("nesting depth",)
    ),
    "deeply nested values in a test run": lambda w: Hostile(
        "POST",
        "/api/v1/test-runs",
        run_of("retail.sales.orders").replace(
            b'"checks": []', b'"checks": [{"observed": ' + b"[" * 40 + b"]" * 40 + b"}]"
        ),
        status=422,
    ),
    # Times and numbers of lineage events (Why 5, 8)
    "eventTime 9999-12-31T23:59:59-14:00": lambda w: Hostile(
        "POST",
        "/api/v1/lineage",
        json.dumps(event(eventTime="9999-12-31T23:59:59-14:00")).encode(),
        status=400,
        says=("eventTime",),
    ),
    "eventTime 0001-01-01T00:00:00+14:00": lambda w: Hostile(
        "POST",
        "/api/v1/lineage",
        json.dumps(event(eventTime="0001-01-01T00:00:00+14:00")).encode(),
        status=400,
        says=("eventTime",),
    ),
    "eventTime that is no time": lambda w: Hostile(
        "POST", "/api/v1/lineage", json.dumps(event(eventTime="yesterday")).encode(), status=400, says=("eventTime",)
    ),
    "rowCount 2**70": lambda w: Hostile(
        "POST", "/api/v1/lineage", with_statistics("rowCount", 2**70), status=400, says=("rowCount",)
    ),
    "negative rowCount": lambda w: Hostile(
        "POST", "/api/v1/lineage", with_statistics("rowCount", -5), status=400, says=("rowCount",)
    ),
    "negative input size": lambda w: Hostile(
        "POST", "/api/v1/lineage", with_statistics("size", -1, "inputs"), status=400, says=("size",)
    ),
    "a number like 1e400 in an event": lambda w: Hostile(
        "POST", "/api/v1/lineage", with_statistics("rowCount", "1e400"), status=400, says=("rowCount",)
    ),
    "NaN in an event": lambda w: Hostile("POST", "/api/v1/lineage", with_statistics("rowCount", "NaN"), status=400),
    "a run id that is no UUID": lambda w: Hostile(
        "POST", "/api/v1/lineage", json.dumps(event(run={"runId": "x" * 10_000})).encode(), status=400, says=("runId",)
    ),
    "a lone surrogate in an event": lambda w: Hostile(
        "POST", "/api/v1/lineage", json.dumps(event(job={"namespace": "n", "name": "\ud800"})).encode(), status=400
    ),
    # Compressed and oversized bodies (Why 4)
    "gzip bomb, anonymous": lambda w: Hostile(
        "POST", "/api/v1/lineage", bomb(), who="anonymous", headers={"Content-Encoding": "gzip"}, status=401
    ),
    "gzip bomb, authenticated": lambda w: Hostile(
        "POST",
        "/api/v1/lineage",
        bomb(),
        who="maintainer:retail",
        headers={"Content-Encoding": "gzip"},
        status=413,
        says=("100 times",),
    ),
    "gzip bomb to apply": lambda w: Hostile(
        "POST", "/api/v1/apply", bomb(), headers={"Content-Encoding": "gzip"}, status=413, says=("100 times",)
    ),
    "a body that is not gzip": lambda w: Hostile(
        "POST", "/api/v1/lineage", b"not gzip at all", headers={"Content-Encoding": "gzip"}, status=400, says=("gzip",)
    ),
    "an unknown content encoding": lambda w: Hostile(
        "POST", "/api/v1/lineage", b"{}", headers={"Content-Encoding": "br"}, status=415, says=("br",)
    ),
    "a declared length beyond 64 MiB": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        status=413,
        says=("max_request_bytes",),
        raw=http_head("POST", "/api/v1/apply", {**JSON, **w.headers("admin"), "Content-Length": str(2**40)}) + b"{",
    ),
    "a chunked body beyond 64 MiB": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        status=413,
        says=("max_request_bytes",),
        raw=http_head("POST", "/api/v1/apply", {**JSON, **w.headers("admin"), "Transfer-Encoding": "chunked"})
        + (b"100000\r\n" + b" " * 0x100000 + b"\r\n") * 66,
    ),
    # Ids and ownership (Why 2, 8, 10)
    "test run of an unknown contract (200 unicode characters)": lambda w: Hostile(
        "POST", "/api/v1/test-runs", run_of("ü€𝄞" * 66 + "zz"), status=404, says=("contract",)
    ),
    "test run of a contract of another domain": lambda w: Hostile(
        "POST", "/api/v1/test-runs", run_of("finance.ledger.ledger_entries"), who="maintainer:retail", status=403
    ),
    "id squatting bundle": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        apply_body(
            w,
            {
                LEDGER.replace("ledger_entries", "returns"): (w.mesh / LEDGER)
                .read_text()
                .replace("id: finance.ledger.ledger_entries", "id: retail.sales.returns")
            },
        ),
        who="maintainer:finance",
        status=403,
        says=("retail.sales.returns", "retail"),
    ),
    "maintainer creating a domain": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        apply_body(
            w,
            {
                "domains/returns/domain.yaml": (w.mesh / "domains/logistics/domain.yaml")
                .read_text()
                .replace("id: logistics", "id: returns")
            },
        ),
        who="maintainer:returns",
        status=403,
        says=("returns", "admin"),
    ),
    "reader applying": lambda w: Hostile("POST", "/api/v1/apply", apply_body(w), who="reader", status=403),
    "a token that does not exist": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        b"{}",
        headers={"Authorization": "Bearer mp_aaaaaaaa_" + "b" * 43},
        who="anonymous",
        status=401,
    ),
    "a token of 60 KB": lambda w: Hostile(
        "GET", "/api/v1/domains", headers={"Authorization": "Bearer " + "a" * 60_000}, who="anonymous", status=401
    ),
    # Media types, encodings, characters (Why 5 and the guard)
    "apply as text/plain": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        apply_body(w),
        headers={"Content-Type": "text/plain"},
        status=422,
        says=("application/json",),
    ),
    "token as XML": lambda w: Hostile(
        "POST", "/api/v1/tokens", b"<token role='admin'/>", headers={"Content-Type": "application/xml"}, status=422
    ),
    "test runs without a content type": lambda w: Hostile(
        "POST", "/api/v1/test-runs", run_of("retail.sales.orders"), headers={"Content-Type": ""}, status=422
    ),
    "invalid UTF-8 in an apply body": lambda w: Hostile(
        "POST", "/api/v1/apply", b'{"files": {"mesh.yaml": "a: \xff\xfe"}}', status=400, says=("UTF-8",)
    ),
    "invalid UTF-8 in a lineage body": lambda w: Hostile(
        "POST", "/api/v1/lineage", json.dumps(event()).encode().replace(b"build_kpis", b"build_\xc3\x28"), status=400
    ),
    "a raw NUL byte in a body": lambda w: Hostile(
        "POST", "/api/v1/apply", b'{"files": {"mesh.yaml": "a\x00"}}', status=400, says=("NUL",)
    ),
    "an escaped NUL in a body": lambda w: Hostile(
        "POST", "/api/v1/tokens", b'{"role": "reader", "name": "a\\u0000b"}', status=400, says=("NUL",)
    ),
    "NUL in the query": lambda w: Hostile("GET", "/api/v1/domains?q=a%00b", who="reader", status=400, says=("NUL",)),
    "malformed JSON to apply": lambda w: Hostile("POST", "/api/v1/apply", b'{"files": {', status=400, says=("JSON",)),
    "malformed JSON to lineage": lambda w: Hostile("POST", "/api/v1/lineage", b'{"eventType": ', status=400),
    "JSON with duplicate keys, the last one invalid": lambda w: Hostile(
        "POST",
        "/api/v1/tokens",
        b'{"role": "reader", "name": "x", "role": "root"}',
        status=400,
        says=("duplicate key 'role'",),
    ),
    "JSON with duplicate keys choosing a role": lambda w: Hostile(
        "POST",
        "/api/v1/tokens",
        b'{"role": "reader", "name": "x", "role": "admin"}',
        status=400,
        says=("duplicate key 'role'", "line 1"),
    ),
    "JSON with duplicate keys in a nested object": lambda w: Hostile(
        "POST",
        "/api/v1/test-runs",
        run_of("retail.sales.orders").replace(b'"server": "lake"', b'"server": "lake", "server": "other"'),
        status=400,
        says=("duplicate key 'server'",),
    ),
    "a lineage event as text/plain": lambda w: Hostile(
        "POST",
        "/api/v1/lineage",
        json.dumps(event()).encode(),
        headers={"Content-Type": "text/plain"},
        status=415,
        says=("text/plain", "application/json"),
    ),
    "a lineage batch as a form": lambda w: Hostile(
        "POST",
        "/api/v1/lineage/batch",
        json.dumps([event()]).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        status=415,
        says=("application/json",),
    ),
    "a lineage event without a content type": lambda w: Hostile(
        "POST", "/api/v1/lineage", json.dumps(event()).encode(), headers={"Content-Type": ""}, status=415
    ),
    "1e400 for a boolean": lambda w: Hostile(
        "POST", "/api/v1/apply", b'{"files": {}, "dryRun": 1e400}', status=422, says=("dryRun",)
    ),
    "an id of 10**23 in a path": lambda w: Hostile(
        "POST", "/api/v1/agreements/" + "9" * 23 + "/revoke", b'{"reason": "x"}', status=422, says=("agreement_id",)
    ),
    "a page size of 10**20": lambda w: Hostile("GET", "/api/v1/domains?limit=" + "9" * 20, who="reader", status=422),
    "a header of 1 MiB": lambda w: Hostile(
        "GET", "/api/v1/domains", who="reader", headers={"X-Padding": "a" * 1024 * 1024}, status=431
    ),
    "Content-Length: -1": lambda w: Hostile(
        "POST",
        "/api/v1/lineage",
        status=400,
        says=("not valid HTTP/1.1",),
        raw=http_head("POST", "/api/v1/lineage", {**JSON, **w.headers("admin"), "Content-Length": "-1"}) + b"{}",
    ),
    "two Content-Lengths": lambda w: Hostile(
        "POST",
        "/api/v1/lineage",
        status=400,
        says=("not valid HTTP/1.1",),
        raw=http_head("POST", "/api/v1/lineage", {**JSON, **w.headers("admin"), "Content-Length": "2"})[:-2]
        + b"Content-Length: 300\r\n\r\n{}",
    ),
    "a malformed chunk size": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        status=400,
        says=("not valid HTTP/1.1",),
        raw=http_head("POST", "/api/v1/apply", {**JSON, **w.headers("admin"), "Transfer-Encoding": "chunked"})
        + b"zz\r\n{}\r\n0\r\n\r\n",
    ),
    "a reader's bundle of a million files": lambda w: Hostile(
        "POST",
        "/api/v1/apply",
        million_files(),
        who="reader",
        status=403,
        says=("reader",),
    ),
    "a maintainer creating a token": lambda w: Hostile(
        "POST",
        "/api/v1/tokens",
        b'{"role": "admin", "name": "mine"}',
        who="maintainer:retail",
        status=403,
        says=("only an admin",),
    ),
    "10,000 headers": lambda w: Hostile(
        "GET",
        "/api/v1/domains",
        who="reader",
        status=431,
        raw=http_head(
            "GET", "/api/v1/domains", {**w.headers("reader"), **{f"X-H{i}": "a" * 20 for i in range(10_000)}}
        ),
    ),
}


def answered(data: bytes) -> bool:
    """Whether `data` holds a whole HTTP answer (its head and the Content-Length bytes of its body)."""
    head, found, body = data.partition(b"\r\n\r\n")
    if not found:
        return False
    lengths = [
        line.split(b":", 1)[1] for line in head.split(b"\r\n")[1:] if line.lower().startswith(b"content-length:")
    ]
    return bool(lengths) and len(body) >= int(lengths[0])


def send(served: Served, world: World, case: Hostile) -> tuple[int, dict[str, str], bytes]:
    """Send one case: through http.client, or as raw bytes on a socket (answers read up to the close)."""
    if case.raw is None:
        headers = {**JSON, **world.headers(case.who), **case.headers}
        return served.request(case.method, case.path, case.body, {k: v for k, v in headers.items() if v})
    with socket.create_connection(("127.0.0.1", served.port), timeout=60) as sock:
        with contextlib.suppress(OSError):  # refused before all was sent: the answer is still there to read
            sock.sendall(case.raw)
        # Read the answer without closing our side first: uvicorn takes a client's end of input before
        # the answer as a disconnect, and drops an answer the app had not sent yet (a token lookup away).
        answer = b""
        with contextlib.suppress(OSError):
            while not answered(answer) and (chunk := sock.recv(65536)):
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", len(body)))
    return int(lines[0].split()[1]), headers, body[:length]


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_request_is_refused_in_one_line_and_changes_nothing(
    served: Served, world: World, engine: sa.Engine, name: str
) -> None:
    case = CASES[name](world)
    before = fingerprint(engine)
    served.new_log()
    with served.watch() as seen:
        status, headers, body = send(served, world, case)
    problem = assert_refused(status, headers, body, expected=case.status)
    for words in case.says:
        assert words in problem, problem
    seen[0].check()
    assert_clean_log(served.new_log())
    assert served.alive
    assert fingerprint(engine) == before


def test_the_suite_has_at_least_40_cases() -> None:
    assert len(CASES) >= 40
