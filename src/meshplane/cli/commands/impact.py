"""`meshplane impact CONTRACT_ID[@VERSION] [--against NEW_FILE]`: who is downstream of a contract."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_OK, Column, console, print_json, print_table, report_error
from meshplane.diagnostics import MeshplaneError

if TYPE_CHECKING:
    from meshplane.service.impact import ImpactReport

CONSUMER_COLUMNS = (
    Column("depth", justify="right", drop=1),
    Column("product", key=True),
    Column("domain", key=True),
    Column("team", key=True, drop=2),
    Column("path", key=True, drop=3),
    Column("usage"),
)
"""The consumers table: product and domain ids are never cut; the path, then the team, go first when too wide."""


def _render(report: ImpactReport, *, wide: bool = False) -> None:
    version = f"@{report.version}" if report.version else ""
    provider = f" (provided by {escape(report.provider)})" if report.provider else ""
    console.print(
        f"[bold]impact[/bold] of contract [bold]{escape(report.contract_id)}{escape(version)}[/bold]{provider}"
    )
    if report.diff is not None:
        breaking = report.diff.breaking_changes()
        console.print(
            f"diff {escape(report.diff.from_version)} → {escape(report.diff.to_version)}: "
            f"{report.diff.level}, requires {report.diff.required_bump}; {len(breaking)} breaking change(s)"
        )
        for change in breaking:
            console.print(
                f"  [bold red]breaking[/bold red] {escape(change.message)} [dim]\\[{escape(change.rule)}][/dim]"
            )
    for row in report.migrations:
        old, new = row["old"], row["new"]
        left = f", {row['daysToSunset']} day(s) left" if row["daysToSunset"] is not None else ""
        target = f" → {new['port']}@{new['version']}" if new else ""
        still = "; ".join(f"{c['product'] or 'domain ' + str(c['domain'])} ({c['how']})" for c in row["remaining"])
        console.print(
            f"[yellow]deprecated[/yellow] port {escape(old['port'])}@{escape(old['version'])}{escape(target)} "
            f"(sunset {row['sunsetDate'] or '-'}{left}): still on it: {escape(still or 'nobody')}"
        )
    if not report.consumers:
        console.print("[green]no downstream consumers[/green]")
        return
    rows = [
        [
            str(hit.consumer.depth),
            escape(hit.consumer.product),
            escape(hit.consumer.domain),
            escape(hit.consumer.team or ""),
            escape(" → ".join(hit.consumer.path)),
            escape(f"{hit.usage.value}: {hit.reason}"),
        ]
        for hit in report.consumers
    ]
    print_table(CONSUMER_COLUMNS, rows, wide=wide)
    for column_impact in report.columns:
        affected = [p for p, v in column_impact.verdicts if v.usage.value != "not-using"]
        console.print(
            f"  column [bold]{escape(column_impact.column.label)}[/bold]: {len(affected)} direct consumer(s) affected"
        )
    s = report.summary()
    console.print(
        f"{s['affected']} of {s['consumers']} consumer(s) affected, {s['domains']} domain(s), depth ≤ {s['maxDepth']}"
    )


def impact(
    contract: Annotated[str, typer.Argument(help="CONTRACT_ID or CONTRACT_ID@VERSION (default: latest registered).")],
    against: Annotated[
        Path | None,
        typer.Option("--against", help="A new version of the contract: show its breaking changes and who they hit."),
    ] = None,
    mesh: Annotated[
        Path | None,
        typer.Option("--mesh", help="Mesh folder whose registry to read (default: the working directory's)."),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    wide: Annotated[bool, typer.Option("--wide", help="Every column of the table, however wide.")] = False,
) -> None:
    """List the products downstream of a contract, transitively and across domains, from the registry."""
    if output_format not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    try:
        from meshplane.service.impact import impact_of
        from meshplane.service.registries import open_mesh_registry

        registry = open_mesh_registry(mesh)
        try:
            report = impact_of(registry, contract, against=against)
        finally:
            registry.close()
    except MeshplaneError as exc:
        raise typer.Exit(report_error(exc)) from None
    if output_format == "json":
        print_json(report.to_dict())
    else:
        _render(report, wide=wide)
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add `impact` to the CLI."""
    app.command("impact")(impact)
