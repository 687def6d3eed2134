"""`meshplane agreement request|approve|reject|revoke|list`: usage agreements, through a meshplane server.

The server is `--server-url` (or `MESHPLANE_SERVER_URL`), the token `--token` (or, better, since
command lines are visible to other users of the machine, `MESHPLANE_TOKEN`).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from meshplane.access import AgreementState
from meshplane.cli.output import EXIT_OK, Column, console, print_json, print_table
from meshplane.diagnostics import MeshplaneError

if TYPE_CHECKING:
    from meshplane.api.client import ApiClient

STATES = tuple(state.value for state in AgreementState)
"""The states an agreement can be in (`--state` choices)."""

agreement_app = typer.Typer(help="Usage agreements between products, through a meshplane server.", no_args_is_help=True)

ServerOpt = Annotated[
    str | None, typer.Option("--server-url", help="The meshplane server (default: MESHPLANE_SERVER_URL).")
]
TokenOpt = Annotated[
    str | None, typer.Option("--token", help="API token (default: MESHPLANE_TOKEN).", show_default=False)
]
FormatOpt = Annotated[str, typer.Option("--format", help="table or json.")]
IdArg = Annotated[int, typer.Argument(min=1, help="The agreement's id.")]


def client(server_url: str | None, token: str | None) -> ApiClient:
    """A client of the configured server."""
    from meshplane.settings import get_settings  # pydantic: loaded when the command runs, not by `meshplane --help`

    settings = get_settings()
    url = server_url or settings.server_url
    if not url:
        raise MeshplaneError("no server: give --server-url or set MESHPLANE_SERVER_URL")
    secret = token or settings.token
    if not secret:
        raise MeshplaneError("no token: set MESHPLANE_TOKEN (or give --token)")
    from meshplane.api.client import ApiClient

    return ApiClient(url, secret)


def _check_format(output_format: str) -> None:
    if output_format not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")


def _show(agreement: dict[str, Any], output_format: str) -> None:
    if output_format == "json":
        print_json(agreement)
        return
    consumer, provider = agreement["consumer"], agreement["provider"]
    console.print(
        f"agreement [bold]{agreement['id']}[/bold]: {escape(consumer['product'])} → "
        f"{escape(provider['product'])}/{escape(provider['port'])} is [bold]{agreement['state']}[/bold]"
    )
    for step in agreement.get("history", []):
        why = f" — {escape(step['reason'])}" if step.get("reason") else ""
        console.print(f"  {step['at'][:19]} {step['from'] or '·'} → {step['to']} by {escape(step['actor'])}{why}")


@agreement_app.command("request")
def request(
    consumer: Annotated[str, typer.Argument(help="Your product (the consumer), e.g. retail.sales.")],
    provider: Annotated[str, typer.Argument(help="The provider product, e.g. customer.profiles.")],
    port: Annotated[str, typer.Argument(help="The provider's output port, e.g. customers.")],
    *,
    purpose: Annotated[str, typer.Option("--purpose", help="What the data is used for (required).")],
    end_date: Annotated[str | None, typer.Option("--end-date", help="Last day of the agreement (YYYY-MM-DD).")] = None,
    server_url: ServerOpt = None,
    token: TokenOpt = None,
    output_format: FormatOpt = "table",
) -> None:
    """Ask for access to a provider's output port for one of your products."""
    _check_format(output_format)
    if end_date is not None:
        try:
            date.fromisoformat(end_date)
        except ValueError:
            raise typer.BadParameter("use YYYY-MM-DD", param_hint="--end-date") from None
    with client(server_url, token) as api:
        answer = api.request_agreement(
            consumer=consumer, provider=provider, port=port, purpose=purpose, end_date=end_date
        )
    _show(answer, output_format)
    raise typer.Exit(EXIT_OK)


@agreement_app.command("migrate")
def migrate(
    consumer: Annotated[str, typer.Argument(help="Your product (the consumer), e.g. retail.sales.")],
    provider: Annotated[str, typer.Argument(help="The provider product, e.g. customer.profiles.")],
    from_port: Annotated[str, typer.Argument(help="The port your open agreement covers (the old major's).")],
    to_port: Annotated[str, typer.Argument(help="The provider's new port (the new major's), e.g. customers_v2.")],
    *,
    server_url: ServerOpt = None,
    token: TokenOpt = None,
    output_format: FormatOpt = "table",
) -> None:
    """Carry your agreement over to a provider's new major port: same purpose; approved at once on auto-approve."""
    _check_format(output_format)
    with client(server_url, token) as api:
        answer = api.migrate_agreement(consumer=consumer, provider=provider, from_port=from_port, to_port=to_port)
    _show(answer, output_format)
    raise typer.Exit(EXIT_OK)


@agreement_app.command("approve")
def approve(
    agreement_id: IdArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (optional).")] = None,
    server_url: ServerOpt = None,
    token: TokenOpt = None,
    output_format: FormatOpt = "table",
) -> None:
    """Approve a request on one of your ports: the agreement becomes active."""
    _check_format(output_format)
    with client(server_url, token) as api:
        _show(api.decide_agreement(agreement_id, approve=True, reason=reason), output_format)
    raise typer.Exit(EXIT_OK)


@agreement_app.command("reject")
def reject(
    agreement_id: IdArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (required).")],
    server_url: ServerOpt = None,
    token: TokenOpt = None,
    output_format: FormatOpt = "table",
) -> None:
    """Reject a request on one of your ports, saying why."""
    _check_format(output_format)
    with client(server_url, token) as api:
        _show(api.decide_agreement(agreement_id, approve=False, reason=reason), output_format)
    raise typer.Exit(EXIT_OK)


@agreement_app.command("revoke")
def revoke(
    agreement_id: IdArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (required).")],
    server_url: ServerOpt = None,
    token: TokenOpt = None,
    output_format: FormatOpt = "table",
) -> None:
    """End an agreement (provider or consumer side), or withdraw a request."""
    _check_format(output_format)
    with client(server_url, token) as api:
        _show(api.revoke_agreement(agreement_id, reason=reason), output_format)
    raise typer.Exit(EXIT_OK)


@agreement_app.command("list")
def list_command(
    *,
    state: Annotated[
        str | None, typer.Option("--state", help=f"Only agreements in this state: {', '.join(STATES)}.")
    ] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Agreements with this domain on either side.")] = None,
    consumer: Annotated[str | None, typer.Option("--consumer", help="Of this consumer product.")] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="On this provider product.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many.")] = 50,
    server_url: ServerOpt = None,
    token: TokenOpt = None,
    output_format: FormatOpt = "table",
    wide: Annotated[bool, typer.Option("--wide", help="Every column of the table, however wide.")] = False,
) -> None:
    """List agreements, newest first."""
    _check_format(output_format)
    if state is not None and state not in STATES:
        raise typer.BadParameter(f"use one of {', '.join(STATES)}", param_hint="--state")
    with client(server_url, token) as api:
        page = api.list_agreements(state=state, domain=domain, consumer=consumer, provider=provider, limit=limit)
    if output_format == "json":
        print_json(page)
        raise typer.Exit(EXIT_OK)
    columns = [
        Column("id", key=True, justify="right"),
        Column("state", key=True),
        Column("consumer", key=True),
        Column("provider port", key=True),
        Column("end date", key=True, drop=1),
        Column("purpose", drop=2),
    ]
    rows = [
        [
            str(item["id"]),
            escape(item["state"]),
            escape(item["consumer"]["product"]),
            escape(f"{item['provider']['product']}/{item['provider']['port']}"),
            escape(item.get("endDate") or ""),
            escape(" ".join(item["purpose"].split())),
        ]
        for item in page["items"]
    ]
    print_table(columns, rows, wide=wide)
    console.print(f"{len(page['items'])} of {page['total']} agreement(s)")
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add the `agreement` command group to the CLI."""
    app.add_typer(agreement_app, name="agreement")
