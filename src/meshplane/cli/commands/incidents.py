"""`meshplane incidents list|show|ack|resolve`: the incidents failing checks and freshness breaches opened.

The commands work on the mesh's registry directly, as its operator (an admin, like `apply`);
through the server the same is `GET/POST /api/v1/incidents…`, scoped to the caller's domain
(docs/monitoring.md#incidents).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_OK, EXIT_USAGE, Column, console, fail, print_json, print_table

incidents_app = typer.Typer(
    help="Incidents: failing checks and freshness breaches of output ports.", no_args_is_help=True
)

MeshOption = Annotated[
    Path | None, typer.Option("--mesh", help="Mesh folder whose registry to use (default: the working directory's).")
]
FormatOption = Annotated[str, typer.Option("--format", help="table or json.")]
ActorOption = Annotated[str | None, typer.Option("--actor", help="Who acts (default: the OS user, as for apply).")]
NoteOption = Annotated[str | None, typer.Option("--note", help="A note kept in the incident's trail.")]
_COLOURS = {"open": "red", "acknowledged": "yellow", "resolved": "green"}
INCIDENT_COLUMNS = (
    Column("id", key=True),
    Column("state", key=True),
    Column("contract", key=True),
    Column("check", key=True),
    Column("domain", key=True, drop=4),
    Column("seen", justify="right", drop=3),
    Column("last seen (UTC)", key=True, drop=1),
    Column("message", drop=2),
)
"""The incidents table: id, state, contract and check are never cut; domain, then seen, go first when too wide."""


def _format(value: str) -> str:
    if value not in ("table", "json"):
        fail(f"--format must be table or json, not '{value}'", EXIT_USAGE)
    return value


def _state(value: str) -> str:
    colour = _COLOURS.get(value, "white")
    return f"[{colour}]{value}[/{colour}]"


def _when(value: str | None) -> str:
    return (value or "-")[:19].replace("T", " ")


def _print(incident: dict[str, Any]) -> None:
    console.print(
        f"incident {incident['id']} {_state(incident['state'])}: {escape(incident['contract'])} "
        f"check {escape(incident['check'])} ({incident['kind']})"
    )
    console.print(
        f"  port {escape(str(incident['product']))}/{escape(str(incident['port']))} of domain "
        f"{escape(incident['domain'])}; seen {incident['occurrences']} time(s), opened {_when(incident['openedAt'])}, "
        f"last {_when(incident['lastSeenAt'])}"
    )
    if incident["message"]:
        console.print(f"  {escape(str(incident['message']))}")
    if incident["observed"] is not None:
        console.print(f"  observed {escape(str(incident['observed']))}")


def _actor(actor: str | None) -> Any:
    from meshplane.access import Principal
    from meshplane.service.gitops import default_actor

    return Principal.local_admin(actor or default_actor())


@incidents_app.command("list")
def list_command(
    *,
    mesh: MeshOption = None,
    state: Annotated[
        str, typer.Option("--state", help="unresolved (open or acknowledged), open, acknowledged, resolved or all.")
    ] = "unresolved",
    domain: Annotated[str | None, typer.Option("--domain", help="Only incidents of this domain.")] = None,
    contract: Annotated[str | None, typer.Option("--contract", help="Only incidents of this contract.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many.")] = 50,
    output_format: FormatOption = "table",
    wide: Annotated[bool, typer.Option("--wide", help="Every column of the table, however wide.")] = False,
) -> None:
    """List incidents, most recently seen first (default: the unresolved ones)."""
    _format(output_format)
    from meshplane.service.incidents import list_incidents
    from meshplane.service.registries import open_mesh_registry

    with open_mesh_registry(mesh, auto_upgrade=False) as registry:
        page = list_incidents(
            registry, state=None if state == "all" else state, domain=domain, contract=contract, limit=limit
        )
    if output_format == "json":
        print_json({"items": page.items, "total": page.total})
        raise typer.Exit(EXIT_OK)
    if not page.items:
        console.print(f"no {'' if state == 'all' else state + ' '}incidents")
        raise typer.Exit(EXIT_OK)
    rows = [
        [
            str(item["id"]), _state(item["state"]), escape(item["contract"]), escape(item["check"]),
            escape(item["domain"]), str(item["occurrences"]), _when(item["lastSeenAt"]),
            escape(str(item["message"] or ""))[:80],
        ]
        for item in page.items
    ]  # fmt: skip
    print_table(INCIDENT_COLUMNS, rows, wide=wide)
    if page.total > len(page.items):
        console.print(f"[dim]{len(page.items)} of {page.total} (--limit)[/dim]")
    raise typer.Exit(EXIT_OK)


@incidents_app.command("show")
def show(
    incident_id: Annotated[int, typer.Argument(min=1, help="The incident's id.")],
    mesh: MeshOption = None,
    output_format: FormatOption = "table",
) -> None:
    """Show an incident and its trail (who changed its state, when and why)."""
    _format(output_format)
    from meshplane.service.incidents import get_incident
    from meshplane.service.registries import open_mesh_registry

    with open_mesh_registry(mesh, auto_upgrade=False) as registry:
        incident = get_incident(registry, incident_id)
    if output_format == "json":
        print_json(incident)
        raise typer.Exit(EXIT_OK)
    _print(incident)
    for event in incident["events"]:
        why = f" ({event['reason']})" if event["reason"] else ""
        note = f": {escape(event['note'])}" if event["note"] else ""
        console.print(f"  {_when(event['at'])} {event['kind']}{why} by {escape(event['actor'])}{note}")
    _print_reach(incident)
    raise typer.Exit(EXIT_OK)


def _print_reach(incident: dict[str, Any]) -> None:
    """The blast radius and the notification deliveries of `incident show`."""
    radius = incident.get("blastRadius") or []
    console.print(f"blast radius: {len(radius)} consumer(s)" + (":" if radius else ""))
    for consumer in radius:
        console.print(
            f"  {escape(consumer['product'])} ({escape(consumer['domain'])}, team {escape(str(consumer['team']))}) "
            f"depth {consumer['depth']}, known by {', '.join(consumer['knownBy'])}: {escape(consumer['reason'])}"
        )
    deliveries = incident.get("deliveries") or []
    if deliveries:
        console.print("notifications:")
    for item in deliveries:
        error = f": {escape(item['lastError'])}" if item["lastError"] and item["state"] != "delivered" else ""
        console.print(
            f"  {item['eventKind']} → {escape(item['domain'])}/{escape(item['target'])} ({item['targetKind']}, "
            f"{item['audience']}) {item['state']} after {item['attempts']} attempt(s){error}"
        )


@incidents_app.command("ack")
def ack(
    incident_id: Annotated[int, typer.Argument(min=1, help="The incident's id.")],
    note: NoteOption = None,
    actor: ActorOption = None,
    mesh: MeshOption = None,
) -> None:
    """Acknowledge an open incident: someone is on it."""
    from meshplane.service.incidents import acknowledge
    from meshplane.service.registries import open_mesh_registry

    with open_mesh_registry(mesh, auto_upgrade=False) as registry:
        incident = acknowledge(registry, _actor(actor), incident_id, note=note)
    _print(incident)
    raise typer.Exit(EXIT_OK)


@incidents_app.command("resolve")
def resolve(
    incident_id: Annotated[int, typer.Argument(min=1, help="The incident's id.")],
    reason: Annotated[str, typer.Option("--reason", help="fixed, false-positive, expected or other.")],
    note: NoteOption = None,
    actor: ActorOption = None,
    mesh: MeshOption = None,
) -> None:
    """Resolve an open or acknowledged incident, saying why."""
    from meshplane.service.incidents import resolve as resolve_incident
    from meshplane.service.registries import open_mesh_registry

    with open_mesh_registry(mesh, auto_upgrade=False) as registry:
        incident = resolve_incident(registry, _actor(actor), incident_id, reason, note=note)
    _print(incident)
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add `incidents` to the CLI."""
    app.add_typer(incidents_app, name="incidents")


__all__ = ["ack", "incidents_app", "list_command", "register", "resolve", "show"]
