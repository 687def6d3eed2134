"""`meshplane dbt link MANIFEST --product PRODUCT`: say which relations of a dbt project are which lake data.

The manifest is read here (`meshplane.lineage.dbt`); the links are recorded in the mesh's registry
(`--mesh`, else the working directory's mesh, else `MESHPLANE_DATABASE_URL`) as the local operator,
or through a meshplane server with `--server-url` and the product's maintainer token (`--token`
or `MESHPLANE_TOKEN`). `meshplane.service.dbtlink` holds the logic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_OK, Column, console, print_json, print_table
from meshplane.diagnostics import MeshplaneError

app = typer.Typer(no_args_is_help=True, help="The dbt bridge: link a dbt project's relations to their lake data.")
ProductOpt = Annotated[str, typer.Option("--product", help="The product whose dbt project it is (finance.revenue).")]
MeshOpt = Annotated[
    Path | None, typer.Option("--mesh", help="Mesh folder whose registry to write (default: the working directory's).")
]
TokenOpt = Annotated[
    str | None, typer.Option("--token", help="Token for --server-url (default: MESHPLANE_TOKEN).", show_default=False)
]

LINK_COLUMNS = (
    Column("node", key=True),
    Column("kind", key=True, drop=2),
    Column("relation", key=True, drop=1),
    Column("stands for", key=True),
    Column("port", key=True),
)
"""The links table, all ids (never cut): the kind (the node's id says it), then the relation, go first."""


@app.command("link")
def link(
    manifest: Annotated[Path, typer.Argument(help="A dbt target/manifest.json (dbt 1.5 to 1.10).")],
    *,
    product: ProductOpt,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    wide: Annotated[bool, typer.Option("--wide", help="Every column of the table, however wide.")] = False,
    mesh: MeshOpt = None,
    server_url: Annotated[str | None, typer.Option("--server-url", help="Link through this meshplane server.")] = None,
    token: TokenOpt = None,
) -> None:
    """Record which relations of a dbt project are which lake data (replaces the product's previous link)."""
    if output_format not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    from meshplane.lineage.dbt import read_manifest

    links = read_manifest(manifest)
    if server_url:
        from meshplane.settings import get_settings  # pydantic: loaded when the command runs, not by `meshplane --help`

        secret = token or get_settings().token
        if not secret:
            raise MeshplaneError("no token: set MESHPLANE_TOKEN (or give --token)")
        from meshplane.api.client import ApiClient

        with ApiClient(server_url, secret) as api:
            report: dict[str, Any] = api.call("POST", f"/products/{product}/dbt-link", json=links.to_dict())
    else:
        from meshplane.access import Principal
        from meshplane.service.dbtlink import link_product
        from meshplane.service.gitops import default_actor
        from meshplane.service.registries import open_mesh_registry

        operator = Principal.local_admin(f"{default_actor()} (meshplane dbt link)")
        with open_mesh_registry(mesh) as registry:
            report = link_product(registry, operator, product, links).to_dict()
    if output_format == "json":
        print_json(report)
        raise typer.Exit(EXIT_OK)
    rows = [
        [
            escape(item["node"]),
            escape(item["kind"]),
            escape(item["relation"]),
            escape(item["target"]),
            escape(item["port"] or "(lake data of no port)"),
        ]
        for item in report["links"]
    ]
    print_table(LINK_COLUMNS, rows, title=f"dbt link of {escape(product)} ({escape(report['project'])})", wide=wide)
    console.print(
        f"{len(report['links'])} relation(s) linked, {report['skippedRelations']} left as the project's own; "
        "events derived from now on resolve through them"
    )
    raise typer.Exit(EXIT_OK)


def register(application: typer.Typer) -> None:
    """Add `dbt` (link) to the CLI."""
    application.add_typer(app, name="dbt")
