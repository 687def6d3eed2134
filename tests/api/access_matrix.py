"""The expected answer of every mutating route to every kind of caller: the authorization matrix's table.

`test_api_authorization.py` reads the application's route table (``app.routes``) and calls every
POST/PUT/PATCH/DELETE route as each of `IDENTITIES`, on a fresh copy of the example world; a
mutating route without a row here fails the test, so a new route cannot escape the matrix.

To add a route (the OpenLineage receiver, for instance), add a row to `EXPECTATIONS`:

    ("POST", "/api/v1/lineage"): Expectation(
        owner="retail", other="finance",
        prepare=lambda registry, world: ("/api/v1/lineage", {...event...}),
        statuses=expect(success=201),
    ),

``owner`` is the domain whose maintainer plays "owner" (for admin-only routes: any domain; its
maintainer must be refused), ``other`` a domain that owns nothing the call touches; ``prepare``
creates what the call needs in the world's registry and returns the URL and JSON body.

`APPLY_SCENARIOS` are bundles the apply route must refuse for what they declare, not for the domain
they touch: ids squatting another domain's prefix, a domain created by a maintainer, and a change
of mesh.yaml (job namespaces, lake root) by a maintainer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api_support import OPERATOR, World, bundle, run_document

from meshplane.registry import Registry
from meshplane.service.agreements import request_agreement
from meshplane.service.tokens import create_token
from token_support import orphan_maintainer_token

Prepared = tuple[str, Any]

_serial = itertools.count(1)


@dataclass(frozen=True)
class Expectation:
    """How to call one mutating route, who owns what it touches, and the status each caller gets."""

    owner: str
    other: str
    prepare: Callable[[Registry, World], Prepared]
    statuses: dict[str, int]


def expect(success: int = 200, *, owner_allowed: bool = True) -> dict[str, int]:
    """Anonymous 401, reader 403, maintainer of another domain 403, owner `success` (or 403), admin `success`."""
    return {
        "anonymous": 401,
        "reader": 403,
        "other": 403,
        "owner": success if owner_allowed else 403,
        "admin": success,
    }


def _apply(registry: Registry, world: World) -> Prepared:
    marker = f"(change {next(_serial)})"
    files = bundle(world.mesh, {"domains/retail/domain.yaml": lambda t: t.replace("Runs the group", f"Runs {marker}")})
    return "/api/v1/apply", {"files": files}


def _requested(registry: Registry) -> int:
    view = request_agreement(
        registry,
        OPERATOR,
        consumer="retail.sales",
        provider="customer.profiles",
        port="customers",
        purpose="order enrichment",
    )
    return view.id


def _to_migrate(registry: Registry, _world: World) -> Prepared:
    """An open agreement of customer.customer360 on retail.sales/orders, carried over to order_lines."""
    ask = {"consumer": "customer.customer360", "provider": "retail.sales", "port": "orders", "purpose": "history"}
    request_agreement(registry, OPERATOR, **ask)
    move = {
        "consumer": "customer.customer360",
        "provider": "retail.sales",
        "fromPort": "orders",
        "toPort": "order_lines",
    }
    return "/api/v1/migrations/agreements", move


def _decision(verb: str, body: Any) -> Callable[[Registry, World], Prepared]:
    def prepare(registry: Registry, _world: World) -> Prepared:
        return f"/api/v1/agreements/{_requested(registry)}/{verb}", body

    return prepare


def _token_to_revoke(registry: Registry, _world: World) -> Prepared:
    created = create_token(registry, OPERATOR, role="reader", name="to-revoke")
    return f"/api/v1/tokens/{created.info.id}", None


def _lineage_event(registry: Registry, _world: World) -> Prepared:
    """A fresh OpenLineage RunEvent (any writer may send it: events are attributed by their job)."""
    import uuid

    event = {
        "eventType": "START",
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": "https://example.org/tests",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "airflow-retail", "name": "orders.load"},
    }
    return "/api/v1/lineage", event


def _lineage_batch(registry: Registry, world: World) -> Prepared:
    return "/api/v1/lineage/batch", [_lineage_event(registry, world)[1]]


def _dbt_link(registry: Registry, _world: World) -> Prepared:
    """A dbt link of retail.sales: one source reading its own port's folder (the body `meshplane dbt link` sends)."""
    from meshplane.registry import lineage as store

    with registry.read() as session:
        lake = next(root for root in store.load_index(session).lake_roots)
    relation = {"node": "source.retail.raw.orders", "kind": "source", "scheme": "duckdb", "name": "retail.raw.orders"}
    relation |= {"target": f"{lake}/retail/sales/orders", "function": "read_parquet"}
    body = {"manifest": "target/manifest.json", "project": "retail", "dbtVersion": "1.10.23", "schemaVersion": "v12"}
    return "/api/v1/products/retail.sales/dbt-link", body | {"adapter": "duckdb", "relations": [relation]}


def _open_incident(registry: Registry, _world: World) -> int:
    """An open incident of retail's orders port: a failing run, stored and turned into an incident."""
    from meshplane.registry import store_test_run
    from meshplane.service.incidents import list_incidents, process_test_runs

    serial = next(_serial)
    run = run_document(result="failed") | {"startedAt": f"2026-11-20T10:{serial % 60:02d}:00Z"}
    run["checks"][0]["id"] = f"orders.order_id.required.{serial}"  # a key of its own: a fresh incident
    store_test_run(registry, run, actor="ci")
    process_test_runs(registry)
    return int(list_incidents(registry, state="open", limit=1).items[0]["id"])


def _incident_action(verb: str, body: Any) -> Callable[[Registry, World], Prepared]:
    def prepare(registry: Registry, world: World) -> Prepared:
        return f"/api/v1/incidents/{_open_incident(registry, world)}/{verb}", body

    return prepare


def _any_writer(success: int) -> dict[str, int]:
    """The OpenLineage receiver: every token that may write, whatever its domain."""
    return {"anonymous": 401, "reader": 403, "other": success, "owner": success, "admin": success}


EXPECTATIONS: dict[tuple[str, str], Expectation] = {
    ("POST", "/api/v1/apply"): Expectation("retail", "finance", _apply, expect()),
    ("POST", "/api/v1/test-runs"): Expectation(
        "retail", "finance", lambda r, w: ("/api/v1/test-runs", {"runs": [run_document()]}), expect(201)
    ),
    ("POST", "/api/v1/agreements"): Expectation(
        "retail",
        "finance",
        lambda r, w: (
            "/api/v1/agreements",
            {"consumer": "retail.sales", "provider": "customer.profiles", "port": "customers", "purpose": "orders"},
        ),
        expect(201),
    ),
    ("POST", "/api/v1/migrations/agreements"): Expectation("customer", "finance", _to_migrate, expect(201)),
    ("POST", "/api/v1/agreements/{agreement_id}/approve"): Expectation(
        "customer", "finance", _decision("approve", {"reason": "fine"}), expect()
    ),
    ("POST", "/api/v1/agreements/{agreement_id}/reject"): Expectation(
        "customer", "finance", _decision("reject", {"reason": "no"}), expect()
    ),
    ("POST", "/api/v1/agreements/{agreement_id}/revoke"): Expectation(
        "customer", "finance", _decision("revoke", {"reason": "done"}), expect()
    ),
    ("PUT", "/api/v1/products/{product_id}/ports/{port}/settings"): Expectation(
        "retail",
        "finance",
        lambda r, w: ("/api/v1/products/retail.sales/ports/orders/settings", {"autoApprove": True}),
        expect(),
    ),
    ("POST", "/api/v1/tokens"): Expectation(
        "retail", "finance", lambda r, w: ("/api/v1/tokens", {"role": "reader"}), expect(201, owner_allowed=False)
    ),
    ("DELETE", "/api/v1/tokens/{token_id}"): Expectation(
        "retail", "finance", _token_to_revoke, expect(owner_allowed=False)
    ),
    ("POST", "/api/v1/products/{product_id}/dbt-link"): Expectation("retail", "finance", _dbt_link, expect()),
    ("POST", "/api/v1/lineage"): Expectation("retail", "finance", _lineage_event, _any_writer(201)),
    ("POST", "/api/v1/lineage/batch"): Expectation("retail", "finance", _lineage_batch, _any_writer(200)),
    ("POST", "/api/v1/incidents/{incident_id}/acknowledge"): Expectation(
        "retail", "finance", _incident_action("acknowledge", {"note": "on it"}), expect()
    ),
    ("POST", "/api/v1/incidents/{incident_id}/resolve"): Expectation(
        "retail", "finance", _incident_action("resolve", {"reason": "fixed"}), expect()
    ),
}


@dataclass(frozen=True)
class Scenario:
    """A bundle applied by every kind of caller: the status each gets, and what the owner's refusal names."""

    owner: str
    other: str
    prepare: Callable[[Registry, World], Prepared]
    statuses: dict[str, int]
    names: tuple[str, ...]


SQUATTED_CONTRACT = "retail.sales.returns"
NEW_DOMAIN = "returns"


def _squatting(registry: Registry, world: World) -> Prepared:
    """Finance's bundle adds contract `retail.sales.returns` (retail's prefix) to its ledger product."""
    ledger = "domains/finance/products/ledger/contracts/ledger_entries.odcs.yaml"
    files = bundle(world.mesh)
    files[ledger.replace("ledger_entries", "returns")] = files[ledger].replace(
        "id: finance.ledger.ledger_entries", f"id: {SQUATTED_CONTRACT}"
    )
    return "/api/v1/apply", {"files": files}


def _new_domain(registry: Registry, world: World) -> Prepared:
    """A bundle adding domain `returns`, applied (as "owner") with a maintainer token of that domain."""
    key = f"maintainer:{NEW_DOMAIN}"
    if key not in world.tokens:
        world.tokens[key] = orphan_maintainer_token(registry, OPERATOR, NEW_DOMAIN, f"ci-{NEW_DOMAIN}")
    files = bundle(world.mesh)
    files[f"domains/{NEW_DOMAIN}/domain.yaml"] = files["domains/logistics/domain.yaml"].replace(
        "id: logistics", f"id: {NEW_DOMAIN}"
    )
    return "/api/v1/apply", {"files": files}


def _mesh_yaml(change: Callable[[str], str]) -> Callable[[Registry, World], Prepared]:
    """Retail's bundle (a new description of its domain) that also changes mesh.yaml with `change`."""

    def prepare(registry: Registry, world: World) -> Prepared:
        marker = f"(change {next(_serial)})"
        files = bundle(
            world.mesh,
            {
                "domains/retail/domain.yaml": lambda t: t.replace("Runs the group", f"Runs {marker}"),
                "mesh.yaml": change,
            },
        )
        return "/api/v1/apply", {"files": files}

    return prepare


APPLY_SCENARIOS: dict[str, Scenario] = {
    # Refused for everyone: 403 for finance's maintainer (naming the id and retail) and customer's;
    # 422 for an admin (lint: the id is not under finance.ledger.) and for retail's maintainer, who
    # owns the prefix but not the bundle's finance folder.
    "id squatting": Scenario(
        "finance",
        "customer",
        _squatting,
        {"anonymous": 401, "reader": 403, "other": 403, "owner": 403, "admin": 422},
        (SQUATTED_CONTRACT, "belongs to domain retail"),
    ),
    # Only admins create domains, even for a maintainer whose token names the new domain.
    "domain creation by a maintainer": Scenario(
        NEW_DOMAIN,
        "finance",
        _new_domain,
        {"anonymous": 401, "reader": 403, "other": 403, "owner": 403, "admin": 200},
        (f"domain(s) {NEW_DOMAIN}", "only an admin"),
    ),
    # Mesh-wide settings belong to the lake owner: retail's maintainer may change retail's domain, not
    # re-attribute finance's jobs to retail nor move the lake, even in a bundle that is otherwise its own.
    "job namespaces re-attributed by a maintainer": Scenario(
        "retail",
        "finance",
        _mesh_yaml(lambda t: t.replace("airflow-finance: finance", "airflow-finance: retail")),
        {"anonymous": 401, "reader": 403, "other": 403, "owner": 403, "admin": 200},
        ("mesh.yaml", "lineage.jobNamespaces", "only an admin"),
    ),
    "lake root moved by a maintainer": Scenario(
        "retail",
        "finance",
        _mesh_yaml(lambda t: t.replace("root: lake", "root: elsewhere")),
        {"anonymous": 401, "reader": 403, "other": 403, "owner": 403, "admin": 200},
        ("mesh.yaml", "lake.root", "only an admin"),
    ),
}


PATH_VALUES = {
    "domain_id": "retail",
    "product_id": "retail.sales",
    "port": "orders",
    "contract_id": "retail.sales.orders",
    "version": "1.2.0",
    "agreement_id": "1",
    "run_id": "1",
    "token_id": "abcdefgh",
    "incident_id": "1",
}
"""A value for each path parameter of the API's routes, for the tests that call every route."""
