"""`meshplane search` and `meshplane show`: the catalog from the command line.

Both read the registry of the mesh (`--mesh`, MESHPLANE_DATABASE_URL or mesh.yaml's `registry:`, never
created implicitly) or a meshplane server (`--server-url` or MESHPLANE_SERVER_URL, with MESHPLANE_TOKEN).
Locally they call the service functions behind the API's routes (`service.catalog`, `service.testruns`);
remotely those routes (``GET /api/v1/search``, ``/products/{id}``, ``/products/{id}/ports/{port}``,
``/test-runs``): the JSON is the same either way.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol
from urllib.parse import quote

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_OK, Column, console, print_json, print_table

if TYPE_CHECKING:
    from meshplane.api.client import ApiClient
    from meshplane.registry import Registry

MeshOpt = Annotated[
    Path | None, typer.Option("--mesh", help="Mesh folder whose registry to read (default: the working directory's).")
]
ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server-url", help="Read from this meshplane server (default: MESHPLANE_SERVER_URL, else the registry)."
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option("--token", help="API token for the server (default: MESHPLANE_TOKEN).", show_default=False),
]
FormatOpt = Annotated[str, typer.Option("--format", help="table or json.")]
WideOpt = Annotated[bool, typer.Option("--wide", help="Show every column, however wide the table gets.")]


class CatalogSource(Protocol):
    """Where the catalog is read: the registry, or a server's API (the same answers)."""

    def search(self, params: dict[str, Any]) -> dict[str, Any]:
        """A page of products matching `params` (the query of ``GET /api/v1/search``)."""

    def product(self, product_id: str) -> dict[str, Any]:
        """A product (``GET /api/v1/products/{id}``)."""

    def port(self, product_id: str, port: str) -> dict[str, Any]:
        """An output port with its consumers (``GET /api/v1/products/{id}/ports/{port}``)."""

    def latest_run(self, contract_id: str) -> dict[str, Any] | None:
        """The newest recorded test run of a contract (``GET /api/v1/test-runs?contract=…&limit=1``)."""


class RegistrySource:
    """The catalog of a registry, through the service functions behind the API's routes."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def search(self, params: dict[str, Any]) -> dict[str, Any]:
        """`service.catalog.search_products`, in the API's page envelope."""
        from meshplane.service import catalog

        query = catalog.ProductQuery(
            text=params.get("q"),
            tag=params.get("tag"),
            domain=params.get("domain"),
            owner=params.get("owner"),
            column=params.get("column"),
            status=params.get("status"),
            classification=params.get("classification"),
        )
        limit, offset = int(params["limit"]), int(params["offset"])
        page = catalog.search_products(self.registry, query, limit=limit, offset=offset)
        following = offset + limit
        return {
            "items": page.items,
            "total": page.total,
            "limit": limit,
            "offset": offset,
            "next": following if following < page.total else None,
        }

    def product(self, product_id: str) -> dict[str, Any]:
        """`service.catalog.get_product`."""
        from meshplane.service import catalog

        return catalog.get_product(self.registry, product_id)

    def port(self, product_id: str, port: str) -> dict[str, Any]:
        """`service.catalog.get_port`."""
        from meshplane.service import catalog

        return catalog.get_port(self.registry, product_id, port)

    def latest_run(self, contract_id: str) -> dict[str, Any] | None:
        """`service.testruns.list_runs`, newest first, one."""
        from meshplane.service import testruns

        items = testruns.list_runs(self.registry, contract=contract_id, limit=1).items
        return items[0] if items else None


class ServerSource:
    """The catalog of a meshplane server, through its API."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def search(self, params: dict[str, Any]) -> dict[str, Any]:
        """``GET /api/v1/search``."""
        answer: dict[str, Any] = self.client.call("GET", "/search", params=params)
        return answer

    def product(self, product_id: str) -> dict[str, Any]:
        """``GET /api/v1/products/{id}``."""
        answer: dict[str, Any] = self.client.call("GET", f"/products/{quote(product_id, safe='')}")
        return answer

    def port(self, product_id: str, port: str) -> dict[str, Any]:
        """``GET /api/v1/products/{id}/ports/{port}``."""
        path = f"/products/{quote(product_id, safe='')}/ports/{quote(port, safe='')}"
        answer: dict[str, Any] = self.client.call("GET", path)
        return answer

    def latest_run(self, contract_id: str) -> dict[str, Any] | None:
        """``GET /api/v1/test-runs?contract=…&limit=1``."""
        items = self.client.call("GET", "/test-runs", params={"contract": contract_id, "limit": 1})["items"]
        return dict(items[0]) if items else None


class _Opened(AbstractContextManager["CatalogSource"]):
    """The source a command reads, closed after it (registry or HTTP client)."""

    def __init__(self, mesh: Path | None, server_url: str | None, token: str | None) -> None:
        self.mesh, self.server_url, self.token = mesh, server_url, token
        self._close: Any = None

    def __enter__(self) -> CatalogSource:
        from meshplane.settings import get_settings  # pydantic-settings: when run, not at --help

        settings = get_settings()
        url = self.server_url or settings.server_url
        if url:
            from meshplane.api.client import ApiClient

            client = ApiClient(url, self.token or settings.token)
            self._close = client.close
            return ServerSource(client)
        from meshplane.service.registries import open_mesh_registry

        registry = open_mesh_registry(self.mesh)
        self._close = registry.close
        return RegistrySource(registry)

    def __exit__(self, *_exc: object) -> None:
        if self._close is not None:
            self._close()


def _sentence(text: str | None, limit: int = 100) -> str:
    """The first sentence of a description, on one line (at most `limit` characters)."""
    words = " ".join((text or "").split())
    first = words.split(". ", 1)[0]
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _check_format(output_format: str) -> None:
    if output_format not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")


def search(
    text: Annotated[
        str | None, typer.Argument(help="Words that must all occur in a product's id, name or description.")
    ] = None,
    *,
    column: Annotated[
        str | None, typer.Option("--column", help="A column name of the product's contracts (`*` wildcards).")
    ] = None,
    classification: Annotated[
        str | None,
        typer.Option("--classification", help="Products with a column of this classification (e.g. restricted)."),
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Part of a team member's username or name.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="A tag of the product.")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Only products of this domain.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only products with this status.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many products.")] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many products first.")] = 0,
    output_format: FormatOpt = "table",
    wide: WideOpt = False,
    mesh: MeshOpt = None,
    server_url: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Search the catalog: active products matching every criterion, best text matches first."""
    _check_format(output_format)
    params = {
        "q": text or None,
        "column": column,
        "classification": classification,
        "owner": owner,
        "tag": tag,
        "domain": domain,
        "status": status,
        "limit": limit,
        "offset": offset,
    }
    with _Opened(mesh, server_url, token) as source:
        page = source.search({k: v for k, v in params.items() if v is not None})
    if output_format == "json":
        print_json(page)
        raise typer.Exit(EXIT_OK)
    items = page["items"]
    if not items:
        console.print("no product matches")
        raise typer.Exit(EXIT_OK)
    columns = [
        Column("product", key=True),
        Column("domain", key=True),
        Column("status", key=True),
        Column("version", key=True, drop=3),
        Column("name", drop=2),
        Column("matched", drop=4),
        Column("purpose", drop=5),
    ]
    if column or classification:
        columns.append(Column("columns", drop=1))
    rows = []
    for item in items:
        row = [
            escape(item["id"]),
            escape(item["domain"]),
            escape(item["status"]),
            escape(item.get("version") or ""),
            escape(item.get("name") or ""),
            escape(", ".join(item.get("matched") or [])),
            escape(_sentence(item.get("purpose"))),
        ]
        if column or classification:
            row.append(escape(", ".join(f"{c['object']}.{c['column']}" for c in item.get("columns") or [])))
        rows.append(row)
    print_table(columns, rows, wide=wide)
    shown = f"{offset + 1}-{offset + len(items)} of {page['total']}" if page["total"] > len(items) else "all"
    console.print(f"{page['total']} product(s) match ({shown} shown)", markup=False)


def overview(source: CatalogSource, product_id: str) -> dict[str, Any]:
    """What `show` prints: the product, each active output port with its consumers, the latest run per contract."""
    product = source.product(product_id)
    names = sorted({p["name"] for p in product["outputPorts"] if not p.get("retiredAt")})
    ports = [source.port(product_id, name) for name in names]
    runs = {c["id"]: source.latest_run(c["id"]) for c in product["contracts"] if not c.get("retiredAt")}
    return {"product": product, "ports": ports, "latestTestRuns": runs}


def _render(view: dict[str, Any], wide: bool) -> None:
    product = view["product"]
    title = f" — {product['name']}" if product.get("name") else ""
    console.print(
        f"[bold]{escape(product['id'])}[/bold]{escape(title)}  domain {escape(product['domain'])}, "
        f"{escape(product['status'])}, version {escape(str(product.get('version') or '-'))}"
    )
    description = product.get("description") or {}
    if isinstance(description, dict) and description.get("purpose"):
        console.print(f"purpose: {escape(' '.join(str(description['purpose']).split()))}")
    team = product.get("team") or {}
    members = [m.get("username") for m in team.get("members") or [] if isinstance(m, dict)]
    if team:
        console.print(f"team: {escape(str(team.get('name') or '-'))} ({escape(', '.join(filter(None, members)))})")
    tags = product.get("tags") or []
    if tags:
        console.print(f"tags: {escape(', '.join(tags))}")
    consumers = {p["name"]: p["consumers"] for p in view["ports"]}
    ports = [p for p in product["outputPorts"] if not p.get("retiredAt")]
    if ports:
        rows = [
            [
                escape(p["name"]),
                escape(p.get("version") or ""),
                escape(p.get("contractId") or ""),
                escape(p.get("type") or ""),
                str(len({c["product"] for c in consumers.get(p["name"], [])})),
                "yes" if p.get("autoApprove") else "no",
                escape(" ".join((p.get("description") or "").split())),
            ]
            for p in ports
        ]
        columns = [
            Column("output port", key=True),
            Column("version", key=True),
            Column("contract", key=True),
            Column("type", drop=2),
            Column("consumers", justify="right", drop=1),
            Column("auto-approve", drop=3),
            Column("description", drop=4),
        ]
        print_table(columns, rows, title="output ports", wide=wide)
    runs: dict[str, Any] = view["latestTestRuns"]
    if runs:
        rows = []
        for contract in product["contracts"]:
            if contract["id"] not in runs:
                continue
            run = runs[contract["id"]]
            result = "[dim]never tested[/dim]"
            if run:
                style = {"passed": "green", "warning": "yellow"}.get(run["result"], "red")
                result = f"[{style}]{escape(run['result'])}[/{style}]"
            rows.append(
                [
                    escape(contract["id"]),
                    escape(contract.get("latestVersion") or ""),
                    result,
                    escape((run or {}).get("startedAt", "")[:19]),
                    escape(str((run or {}).get("contract", {}).get("version", ""))),
                    str((run or {}).get("checkCount", "")),
                    escape(str((run or {}).get("server") or "")),
                ]
            )
        columns = [
            Column("contract", key=True),
            Column("latest", key=True),
            Column("last test", key=True),
            Column("tested (UTC)", key=True, drop=1),
            Column("tested", key=True, drop=3),
            Column("checks", justify="right", drop=2),
            Column("server", drop=4),
        ]
        print_table(columns, rows, title="contracts", wide=wide)
    everyone = [c | {"port": name} for name, found in consumers.items() for c in found]
    if everyone:
        rows = [
            [
                escape(c["product"]),
                escape(c["domain"]),
                escape(c["port"]),
                escape(c["contractId"]),
                escape(c["version"]),
            ]
            for c in everyone
        ]
        columns = [
            Column("consumer", key=True),
            Column("domain", key=True, drop=2),
            Column("reads port", key=True),
            Column("contract", key=True, drop=1),
            Column("version", key=True),
        ]
        print_table(columns, rows, title="consumers", wide=wide)
    else:
        console.print("no consumers declare an input port on this product")
    inputs = [p for p in product["inputPorts"] if not p.get("retiredAt")]
    if inputs:
        rows = [
            [
                escape(p["name"]),
                escape(p.get("contractId") or ""),
                escape(p.get("version") or ""),
                escape(", ".join(p.get("providers") or [])),
            ]
            for p in inputs
        ]
        columns = [
            Column("input port", key=True),
            Column("contract", key=True),
            Column("version", key=True),
            Column("provided by", drop=1),
        ]
        print_table(columns, rows, title="input ports", wide=wide)


def show(
    product_id: Annotated[str, typer.Argument(help="The product's id, e.g. retail.sales.")],
    *,
    output_format: FormatOpt = "table",
    wide: WideOpt = False,
    mesh: MeshOpt = None,
    server_url: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Show a product: descriptor, output ports, contracts with their latest test result, consumers, inputs."""
    _check_format(output_format)
    with _Opened(mesh, server_url, token) as source:
        view = overview(source, product_id)
    if output_format == "json":
        print_json(view)
    else:
        _render(view, wide)
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add `search` and `show` to the CLI."""
    app.command("search")(search)
    app.command("show")(show)
