"""`meshplane lineage PRODUCT`, `meshplane lineage unresolved` and `meshplane movements`: observed lineage.

``lineage`` is a group whose first argument is a product id unless it names one of its commands
(`ProductOrCommand`): ``meshplane lineage retail.sales`` is ``meshplane lineage show retail.sales``.

Both read the mesh's registry directly (`--mesh`, else the working directory's mesh, else
`MESHPLANE_DATABASE_URL`), or a meshplane server when `--server-url` is given (token: `--token`
or `MESHPLANE_TOKEN`). The logic lives in `meshplane.service.movements`; this module presents it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from meshplane.cli.output import EXIT_FAILED, EXIT_OK, Column, console, print_json, print_table
from meshplane.diagnostics import MeshplaneError

MeshOpt = Annotated[
    Path | None, typer.Option("--mesh", help="Mesh folder whose registry to read (default: the working directory's).")
]
ServerOpt = Annotated[
    str | None, typer.Option("--server-url", help="Read from this meshplane server instead of the registry.")
]
TokenOpt = Annotated[
    str | None,
    typer.Option("--token", help="API token for --server-url (default: MESHPLANE_TOKEN).", show_default=False),
]
FormatOpt = Annotated[str, typer.Option("--format", help="table or json.")]
WideOpt = Annotated[bool, typer.Option("--wide", help="Every column of the table, however wide.")]


def _check_format(output_format: str) -> None:
    if output_format not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("use YYYY-MM-DD", param_hint=option) from None


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day is not None else None


def _from_server(server_url: str, token: str | None, path: str, params: dict[str, Any]) -> Any:
    from meshplane.settings import get_settings  # pydantic-settings: when run, not at --help

    secret = token or get_settings().token
    if not secret:
        raise MeshplaneError("no token: set MESHPLANE_TOKEN (or give --token)")
    from meshplane.api.client import ApiClient

    with ApiClient(server_url, secret) as api:
        return api.call("GET", path, params=params)


def _registry(mesh: Path | None) -> Any:
    from meshplane.service.registries import open_mesh_registry

    return open_mesh_registry(mesh)


def _amount(value: Any) -> str:
    return "" if value is None else f"{value:,}"


EDGE_COLUMNS = (
    Column("from", key=True),
    Column("to", key=True),
    Column("port", key=True),
    Column("kind", key=True, drop=3),
    Column("runs", justify="right", drop=2),
    Column("rows", justify="right", drop=4),
    Column("last seen", key=True, drop=1),
    Column("flags", key=True),
)
"""The lineage table: products, ports and flags are never cut; amounts go first when it is too wide."""

UNRESOLVED_COLUMNS = (
    Column("dataset", key=True),
    Column("role", key=True, drop=3),
    Column("runs", justify="right"),
    Column("events", justify="right", drop=5),
    Column("jobs", key=True, drop=1),
    Column("last seen", key=True, drop=2),
    Column("lake", drop=4),
    Column("suggestion"),
)
"""The unresolved datasets: names and jobs are never cut; events, lake, role, last seen go first when too wide."""


def lineage(
    product: Annotated[str, typer.Argument(help="A product id, e.g. retail.sales.")],
    *,
    upstream: Annotated[bool, typer.Option("--upstream", help="Only what the product reads from.")] = False,
    downstream: Annotated[bool, typer.Option("--downstream", help="Only what reads from the product.")] = False,
    depth: Annotated[int, typer.Option("--depth", min=0, max=50, help="Hops from the product.")] = 3,
    output_format: FormatOpt = "table",
    wide: WideOpt = False,
    mesh: MeshOpt = None,
    server_url: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Show the products upstream and downstream of a product, from observed OpenLineage runs."""
    _check_format(output_format)
    if upstream and downstream:
        raise typer.BadParameter("give --upstream or --downstream, not both (neither: both ways)")
    direction = "upstream" if upstream else "downstream" if downstream else "both"
    if server_url:
        graph = _from_server(
            server_url, token, f"/lineage/products/{product}", {"direction": direction, "depth": depth}
        )
    else:
        from meshplane.service.movements import Direction, lineage_graph

        with _registry(mesh) as registry:
            graph = lineage_graph(registry, product, direction=Direction(direction), depth=depth).to_dict()
    if output_format == "json":
        print_json(graph)
        raise typer.Exit(EXIT_OK)
    console.print(f"[bold]lineage[/bold] of [bold]{escape(product)}[/bold] ({direction}, depth ≤ {depth})")
    if not graph["edges"]:
        console.print("no observed lineage (send OpenLineage events to the server's /api/v1/lineage)")
        raise typer.Exit(EXIT_OK)
    rows = [
        [
            escape(f"{edge['fromProduct']} ({edge['fromDomain'] or '?'})"),
            escape(f"{edge['toProduct']} ({edge['toDomain'] or '?'})"),
            escape(edge["port"]),
            escape(edge["kind"]),
            str(edge["runs"]),
            _amount(edge.get("rows")),
            escape((edge["lastSeen"] or "")[:19]),
            escape(", ".join(edge["flags"])),
        ]
        for edge in graph["edges"]
    ]
    print_table(EDGE_COLUMNS, rows, wide=wide)
    raise typer.Exit(EXIT_OK)


def unresolved(
    *,
    since: Annotated[str | None, typer.Option("--since", help="Only datasets seen from this day (YYYY-MM-DD).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Most datasets listed (most runs first).")] = 100,
    output_format: FormatOpt = "table",
    wide: WideOpt = False,
    mesh: MeshOpt = None,
    server_url: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """List datasets named in lineage events that resolved to no output port, with a suggestion where one is likely."""
    _check_format(output_format)
    first = _day(since, "--since")
    if server_url:
        answer = _from_server(server_url, token, "/lineage/unresolved", {"since": first, "limit": limit})
    else:
        from meshplane.service.unresolved import unresolved as service

        with _registry(mesh) as registry:
            answer = service(registry, since=_midnight(first), limit=limit).to_dict()
    if output_format == "json":
        print_json(answer)
        raise typer.Exit(EXIT_OK)
    summary = answer["summary"]
    if not answer["datasets"]:
        console.print("every dataset named in lineage events resolved to an output port or a known external system")
        say_external(answer.get("external") or [])
        raise typer.Exit(EXIT_OK)
    rows = []
    for item in answer["datasets"]:
        more = item["jobCount"] - len(item["jobs"])
        rows.append(
            [
                escape(f"{item['namespace']}#{item['name']}"),
                ", ".join(item["roles"]),
                str(item["runs"]),
                str(item["events"]),
                escape(", ".join(item["jobs"]) + (f" (+{more})" if more > 0 else "")),
                (item["lastSeen"] or "")[:19],
                "yes" if item["inLake"] else "no",
                escape(item["suggestion"] or ""),
            ]
        )
    print_table(UNRESOLVED_COLUMNS, rows, title="unresolved datasets", wide=wide)
    console.print(
        f"{summary['datasets']} dataset(s) in {summary['runs']} run(s) ({summary['events']} events) resolved to no port"
    )
    say_external(answer.get("external") or [])
    raise typer.Exit(EXIT_OK)


def say_external(items: list[dict[str, Any]]) -> None:
    """The datasets of known external systems (mesh.yaml ``lineage.externalSystems``), one line each."""
    if items:
        console.print(f"{len(items)} dataset(s) of known external systems (not unresolved):")
    for item in items:
        console.print(
            f"  {escape(item['namespace'])}#{escape(item['name'])} ({', '.join(item['roles'])}, {item['runs']} run(s)) "
            f"external: {escape(str(item.get('external')))}"
        )


def _unresolved_summary(mesh: Path | None, server_url: str | None, token: str | None, since: date | None) -> Any:
    """What stayed unresolved (the summary) and the datasets of known external systems."""
    if server_url:
        answer = _from_server(server_url, token, "/lineage/unresolved", {"since": since, "limit": 0})
        return answer["summary"], answer.get("external") or []
    from meshplane.service.unresolved import external_datasets, unresolved_summary

    with _registry(mesh) as registry:
        summary = unresolved_summary(registry, since=_midnight(since))
        return summary, [item.to_dict() for item in external_datasets(registry, since=_midnight(since))]


def _say_unresolved(summary: dict[str, int], flows: int) -> None:
    if not summary["datasets"]:
        if not flows:
            console.print("no data movements observed (send OpenLineage events to the server's /api/v1/lineage)")
        return
    lead = "no data movements resolved: " if not flows else ""
    console.print(
        f"{lead}{summary['events']} event(s) in {summary['runs']} run(s) named {summary['datasets']} dataset(s) "
        "that resolved to no output port: see `meshplane lineage unresolved`"
    )


def movements(
    *,
    since: Annotated[str | None, typer.Option("--since", help="First day (YYYY-MM-DD, UTC).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="First day not included (YYYY-MM-DD).")] = None,
    by_day: Annotated[bool, typer.Option("--by-day", help="One flow per day (JSON adds `day`).")] = False,
    fail_on_flags: Annotated[
        bool,
        typer.Option(
            "--fail-on-flags", help="Exit 1 when a flow, or a port a flow reads or writes, has a flag (for CI)."
        ),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Answer as of the end of this day (YYYY-MM-DD, UTC): runs, agreements then."),
    ] = None,
    output_format: FormatOpt = "table",
    wide: Annotated[bool, typer.Option("--wide", help="Every column of the tables, however wide.")] = False,
    mesh: MeshOpt = None,
    server_url: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Show data moving between domains: flows with runs, rows, bytes, agreement coverage and flags."""
    _check_format(output_format)
    first, last, when = _day(since, "--since"), _day(until, "--until"), _day(as_of, "--as-of")
    if first is not None and last is not None and first >= last:  # the API answers an empty range; a person erred
        raise typer.BadParameter(f"--since ({first}) must be before --until ({last}): the days are [since, until)")
    if server_url:
        params = {"since": first, "until": last, "byDay": by_day, "asOf": when}
        answer = _from_server(server_url, token, "/lineage/movements", params)
        flows, matrix, ports = answer["flows"], answer["matrix"], answer.get("portFlags", [])
    else:
        from meshplane.service import movements as service

        with _registry(mesh) as registry:
            report = service.movements(registry, since=first, until=last, by_day=by_day, as_of=when)
        answer, matrix = report.to_dict(), report.matrix()
        flows, ports = answer["flows"], answer["portFlags"]
    flagged = [f for f in flows if f["flags"]]
    code = EXIT_FAILED if fail_on_flags and (flagged or ports) else EXIT_OK
    left, external = _unresolved_summary(mesh, server_url, token, first)
    if output_format == "json":
        print_json({"flows": flows, "portFlags": ports, "unresolved": left, "external": external})
        raise typer.Exit(code)
    _render_movements(flows, matrix, wide=wide)
    render_port_flags(ports, wide=wide)
    _say_unresolved(left, len(flows))
    say_external(external)
    raise typer.Exit(code)


def render_port_flags(ports: list[dict[str, Any]], *, wide: bool = False) -> None:
    """The flags of ports (drift, foreign writes, sender mismatches) as a table."""
    if not ports:
        return
    columns = [
        Column("port", key=True),
        Column("flag", key=True),
        Column("last seen", key=True, drop=2),
        Column("detail", drop=1),
        Column("sent by", drop=3),
    ]
    rows = [
        [
            escape(f"{item['product']}/{item['port']} [{item['domain'] or '?'}]"),
            f"[red]{escape(item['flag'])}[/red]",
            escape((item["lastSeen"] or "")[:19]),
            escape(item["detail"]),
            escape(", ".join(item["receivedBy"])),
        ]
        for item in ports
    ]
    print_table(columns, rows, title="port flags", wide=wide)


FLOW_COLUMNS = (
    Column("day", key=True),
    Column("from", key=True),
    Column("to", key=True),
    Column("port", key=True),
    Column("runs", justify="right", drop=3),
    Column("covered", justify="right", drop=4),
    Column("rows", justify="right", drop=6),
    Column("bytes", justify="right", drop=7),
    Column("last seen", key=True, drop=5),
    Column("agreement", key=True, drop=1),
    Column("declared", key=True, drop=2),
    Column("flags", key=True),
)
"""The flows table: ids, agreement state and flags are never cut; amounts go first when it is too wide."""


def _render_movements(flows: list[dict[str, Any]], matrix: list[dict[str, Any]], *, wide: bool = False) -> None:
    if not flows:
        return
    by_day = any("day" in f for f in flows)
    rows = []
    for flow in flows:
        cells = [
            escape(f"{flow['fromProduct'] or '(lake)'} [{flow['fromDomain'] or '?'}]"),
            escape(f"{flow['toProduct'] or '-'} [{flow['toDomain'] or '?'}]"),
            escape(flow["port"] or ""),
            str(flow["runs"]),
            "" if flow.get("runsCovered") is None else f"{flow['runsCovered']}/{flow['runs']}",
            _amount(flow["rows"]),
            _amount(flow["bytes"]),
            escape((flow["lastSeen"] or "")[:19]),
            escape(flow["agreement"]),
            "yes" if flow["declared"] else "no",
            f"[red]{escape(', '.join(flow['flags']))}[/red]" if flow["flags"] else "[green]ok[/green]",
        ]
        rows.append([escape(flow.get("day") or ""), *cells] if by_day else cells)
    columns = list(FLOW_COLUMNS) if by_day else list(FLOW_COLUMNS[1:])
    print_table(columns, rows, title="flows", wide=wide)
    grid_columns = [
        Column("from", key=True),
        Column("to", key=True),
        Column("flows", justify="right"),
        Column("runs", justify="right", drop=1),
        Column("rows", justify="right", drop=3),
        Column("bytes", justify="right", drop=4),
        Column("covered", justify="right", drop=2),
        Column("flagged", justify="right"),
    ]
    grid_rows = [
        [
            escape(cell["fromDomain"] or "(lake)"),
            escape(cell["toDomain"] or "(lake/?)"),
            str(cell["flows"]),
            str(cell["runs"]),
            _amount(cell["rows"]),
            _amount(cell["bytes"]),
            str(cell["covered"]),
            f"[red]{cell['flagged']}[/red]" if cell["flagged"] else "0",
        ]
        for cell in matrix
    ]
    print_table(grid_columns, grid_rows, title="domain x domain", wide=wide)
    uncovered = sum(1 for f in flows if f["flags"])
    console.print(f"{len(flows)} flow(s), {uncovered} flagged")


def reindex(
    *,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Derive in this process until done (else the worker does).")
    ] = True,
    mesh: MeshOpt = None,
) -> None:
    """Derive every stored lineage event again on the current port index, mappings and dbt links."""
    from meshplane.service.derivation import BACKLOG_CHUNK, derive_pending
    from meshplane.service.gitops import default_actor
    from meshplane.service.reindex import reindex as service

    with _registry(mesh) as registry:
        queued = service(registry, reason="on demand (meshplane lineage reindex)", by=default_actor())
        console.print(f"{queued} event(s) queued to be derived again")
        if wait:
            outcome = derive_pending(registry, wait_s=600.0, chunk=BACKLOG_CHUNK)
            console.print(f"{outcome.derived} derived, {outcome.failed} failed")
            raise typer.Exit(EXIT_FAILED if outcome.failed else EXIT_OK)
    raise typer.Exit(EXIT_OK)


def status(
    *,
    output_format: FormatOpt = "table",
    mesh: MeshOpt = None,
    server_url: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Show what lineage holds: events, the derivation queue, the port index, the last reindex and its progress."""
    _check_format(output_format)
    if server_url:
        answer = _from_server(server_url, token, "/lineage/status", {})
    else:
        from meshplane.service.lineage import lineage_status

        with _registry(mesh) as registry:
            answer = lineage_status(registry)
    if output_format == "json":
        print_json(answer)
        raise typer.Exit(EXIT_OK)
    counts, derivation, index = answer["counts"], answer["derivation"], answer["index"]
    console.print(
        f"events {counts['events']:,}, runs {counts['runs']:,}, datasets {counts['datasets']:,}, "
        f"column usage {counts['columnUsage']:,}"
    )
    console.print(
        f"derivation: {derivation['waiting']:,} waiting (lag {derivation['lagSeconds']} s), "
        f"{derivation['failed']} failed, {derivation['workersAlive']} worker(s) alive"
    )
    console.print(f"port index: version {index['version']}, {index['rows']} rows, {len(index['notes'])} note(s)")
    last = (answer.get("reindex") or {}).get("last")
    if last:
        done = answer["reindex"].get("done")
        progress = f"{done:,} of {last['events']:,} derived" if done is not None else "nothing to derive"
        console.print(
            f"last reindex: {last['at'][:19]} by {escape(last['requestedBy'])} ({escape(last['reason'])}): {progress}"
        )
    raise typer.Exit(EXIT_OK)


class ProductOrCommand(TyperGroup):
    """A group whose first argument is a product id (for ``show``) unless it names a command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Route ``lineage PRODUCT …`` to ``lineage show PRODUCT …``."""
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["show", *args]
        return super().parse_args(ctx, args)


def register(app: typer.Typer) -> None:
    """Add `lineage` (show, unresolved, status, reindex) and `movements` to the CLI."""
    group = typer.Typer(
        cls=ProductOrCommand,
        no_args_is_help=True,
        help="Observed lineage: `meshplane lineage PRODUCT` (= `show PRODUCT`), `unresolved`, `status`, `reindex`.",
    )
    group.command("show")(lineage)
    group.command("unresolved")(unresolved)
    group.command("status")(status)
    group.command("reindex")(reindex)
    app.add_typer(group, name="lineage")
    app.command("movements")(movements)
