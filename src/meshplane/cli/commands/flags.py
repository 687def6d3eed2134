"""`meshplane flags`: every governance flag of flows and ports, optionally as of a past day, as a CI gate.

Reads the mesh's registry (`--mesh`, else the working directory's mesh, else
`MESHPLANE_DATABASE_URL`) or a meshplane server (`--server-url`, ``GET /api/v1/lineage/flags``).
The logic is `meshplane.service.movements.governance_flags`; this module presents it.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from meshplane.cli.commands.lineage import (
    FormatOpt,
    MeshOpt,
    ServerOpt,
    TokenOpt,
    _check_format,
    _day,
    _from_server,
    _registry,
)
from meshplane.cli.output import EXIT_FAILED, EXIT_OK, Column, console, print_json, print_table

FLAG_COLUMNS = (
    Column("flag", key=True),
    Column("on", key=True),
    Column("detail"),
    Column("sent by", drop=1),
)
"""The flags table: the flag and what it is on (ids) are never cut; who sent it is left out when it is too wide."""


def flags(
    *,
    since: Annotated[
        str | None, typer.Option("--since", help="Only flags seen from this day (YYYY-MM-DD, UTC).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Judge as of the end of this day (YYYY-MM-DD, UTC): runs, agreements then."),
    ] = None,
    fail_on_flags: Annotated[
        bool, typer.Option("--fail-on-flags", help="Exit 1 when any flow or port has a flag (for CI).")
    ] = False,
    output_format: FormatOpt = "table",
    wide: Annotated[bool, typer.Option("--wide", help="Every column of the table, however wide.")] = False,
    mesh: MeshOpt = None,
    server_url: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """List the governance flags of data movements and of output ports (drift, foreign writes, sender mismatches)."""
    _check_format(output_format)
    first, when = _day(since, "--since"), _day(as_of, "--as-of")
    if server_url:
        answer = _from_server(server_url, token, "/lineage/flags", {"since": first, "asOf": when})
    else:
        from meshplane.service.movements import governance_flags

        with _registry(mesh) as registry:
            findings = governance_flags(registry, since=first, as_of=when)
        answer = {
            "since": first.isoformat() if first else None,
            "asOf": when.isoformat() if when else None,
            "items": [f.to_dict() for f in findings],
        }
    items: list[dict[str, Any]] = answer["items"]
    code = EXIT_FAILED if fail_on_flags and items else EXIT_OK
    if output_format == "json":
        print_json({"since": answer["since"], "asOf": answer["asOf"], "items": items})
        raise typer.Exit(code)
    if not items:
        console.print("no governance flag" + (f" as of {when}" if when else ""))
        raise typer.Exit(code)
    rows = [
        [f"[red]{escape(item['flag'])}[/red]", escape(_subject(item)), escape(item["detail"]),
         escape(", ".join(_senders(item)))]
        for item in items
    ]  # fmt: skip
    print_table(FLAG_COLUMNS, rows, title="governance flags" + (f" as of {when}" if when else ""), wide=wide)
    flows = sum(1 for i in items if i["flow"] is not None)
    console.print(f"{len(items)} flag(s): {flows} on flows, {len(items) - flows} on ports")
    raise typer.Exit(code)


def _subject(item: dict[str, Any]) -> str:
    flow, port = item.get("flow"), item.get("port")
    if flow is not None:
        where = f" port {flow['port']}" if flow["port"] else ""
        return (f"{flow['fromProduct'] or '(lake)'} [{flow['fromDomain'] or '?'}] → {flow['toProduct'] or '-'} "
                f"[{flow['toDomain'] or '?'}]{where}")  # fmt: skip
    if port is not None:
        return f"port {port['product']}/{port['port']} [{port['domain'] or '?'}]"
    return ""


def _senders(item: dict[str, Any]) -> list[str]:
    found = (item.get("flow") or {}).get("receivedBy") or (item.get("port") or {}).get("receivedBy") or []
    return [str(s) for s in found]


def register(app: typer.Typer) -> None:
    """Add `flags` to the CLI."""
    app.command("flags")(flags)
