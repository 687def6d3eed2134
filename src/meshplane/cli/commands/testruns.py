"""`meshplane test-runs`: the test-run history — `meshplane test` runs and the dbt tests lineage events reported.

Reads the mesh's registry (`--mesh`, else the working directory's mesh, else
`MESHPLANE_DATABASE_URL`) or a meshplane server (`--server-url`, ``GET /api/v1/test-runs``); the
JSON is the same either way. The logic is `meshplane.service.testruns.list_runs`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from meshplane.cli.commands.lineage import FormatOpt, MeshOpt, ServerOpt, TokenOpt, _check_format, _from_server
from meshplane.cli.commands.lineage import _registry as open_registry
from meshplane.cli.output import EXIT_OK, Column, console, print_json, print_table

_COLOURS = {"passed": "green", "warning": "yellow", "failed": "red", "error": "red"}
RUN_COLUMNS = (
    Column("id", key=True),
    Column("contract", key=True),
    Column("result", key=True),
    Column("source", key=True, drop=3),
    Column("started", key=True, drop=1),
    Column("checks", justify="right", drop=2),
    Column("recorded by", drop=4),
)
"""The runs table: id, contract and result are never cut; recorded by, source, checks, started go first."""


def test_runs(
    *,
    contract: Annotated[str | None, typer.Option("--contract", help="Only runs of this contract id.")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Only runs of this domain's contracts.")] = None,
    result: Annotated[
        str | None, typer.Option("--result", help="Only runs with this result: passed, warning, failed or error.")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="meshplane (meshplane test, the worker) or openlineage (dbt tests and other "
            "assertions lineage events reported).",
        ),
    ] = None,
    checks: Annotated[bool, typer.Option("--checks", help="List each run's checks (JSON: with every field).")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many runs, newest first.")] = 20,
    output_format: FormatOpt = "table",
    wide: Annotated[bool, typer.Option("--wide", help="Every column of the table, however wide.")] = False,
    mesh: MeshOpt = None,
    server_url: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """List recorded test runs, newest first: `meshplane test` runs and the dbt tests (assertions) of lineage."""
    _check_format(output_format)
    if result is not None and result not in ("passed", "warning", "failed", "error"):
        raise typer.BadParameter("use passed, warning, failed or error", param_hint="--result")
    if source is not None and source not in ("meshplane", "openlineage"):
        raise typer.BadParameter("use meshplane or openlineage", param_hint="--source")
    filters = {"contract": contract, "domain": domain, "result": result, "source": source}
    if server_url:
        params = {k: v for k, v in filters.items() if v is not None} | {"limit": limit}
        answer: dict[str, Any] = _from_server(server_url, token, "/test-runs", params | {"checks": checks})
        items, total = answer["items"], answer["total"]
    else:
        from meshplane.service.testruns import list_runs

        with open_registry(mesh) as registry:
            page = list_runs(
                registry, contract=contract, domain=domain, result=result, source=source, checks=checks, limit=limit
            )
        items, total = page.items, page.total
    if output_format == "json":
        print_json({"items": items, "total": total})
        raise typer.Exit(EXIT_OK)
    if not items:
        console.print("no test runs recorded" + (" matching the filters" if any(filters.values()) else ""))
        raise typer.Exit(EXIT_OK)
    rows = []
    for item in items:
        colour = _COLOURS.get(item["result"], "white")
        contract_ref = item["contract"]
        rows.append([
            str(item["id"]), escape(f"{contract_ref['id']}@{contract_ref['version']}"),
            f"[{colour}]{item['result']}[/{colour}]", item.get("source") or "meshplane",
            str(item["startedAt"])[:19].replace("T", " "), str(item["checkCount"]), escape(str(item["recordedBy"])),
        ])  # fmt: skip
    print_table(RUN_COLUMNS, rows, title="test runs", wide=wide)
    if checks:
        for item in items:
            for check in item.get("checks") or []:
                colour = _COLOURS.get(check["status"], "white")
                where = ".".join(filter(None, (check.get("object"), check.get("property"))))
                console.print(
                    f"  run {item['id']}: [{colour}]{check['status']}[/{colour}] {escape(check['id'])}"
                    + (f" on {escape(where)}" if where else "")
                )
    console.print(f"{len(items)} of {total} run(s)")
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add `test-runs` to the CLI."""
    app.command("test-runs")(test_runs)
