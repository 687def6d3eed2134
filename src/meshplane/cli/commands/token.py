"""`meshplane token create|list|revoke`: API tokens, managed directly on the registry database.

Whoever can open the registry is its admin, so these commands need no token: they run where the
server's registry is reachable (same `MESHPLANE_DATABASE_URL`, or the mesh folder with `--mesh`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_OK, Column, console, err_console, print_json, print_table

if TYPE_CHECKING:
    from meshplane.access import Principal
    from meshplane.registry import Registry

token_app = typer.Typer(help="API tokens of the server: create (shown once), list, revoke.", no_args_is_help=True)

MeshOpt = Annotated[
    Path | None,
    typer.Option(
        "--mesh",
        help="Mesh folder whose registry to use (default: MESHPLANE_DATABASE_URL or the working directory's mesh).",
    ),
]
FormatOpt = Annotated[str, typer.Option("--format", help="table or json.")]


def _registry(mesh: Path | None) -> Registry:
    from meshplane.service.registries import open_mesh_registry

    return open_mesh_registry(mesh)


def _operator() -> Principal:
    from meshplane.access import Principal
    from meshplane.service.gitops import default_actor

    return Principal.local_admin(f"{default_actor()} (meshplane token)")


def _check_format(output_format: str) -> None:
    if output_format not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")


@token_app.command("create")
def create(
    role: Annotated[str, typer.Option("--role", help="admin, maintainer (needs --domain), reader or lineage-writer.")],
    domain: Annotated[str | None, typer.Option("--domain", help="The domain a maintainer token may write.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Who or what uses the token (e.g. ci-retail).")] = None,
    *,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            help="When it expires: a duration (30d, 12h, P90D), a date (2027-01-31: 00:00 UTC) or a time with its "
            "offset; at most 366 days ahead. Default: the token_default_expiry_days setting (90).",
        ),
    ] = None,
    mesh: MeshOpt = None,
    output_format: FormatOpt = "table",
) -> None:
    """Create a token and print it once: only its hash is stored, it cannot be shown again."""
    _check_format(output_format)
    from meshplane.service.tokens import create_token
    from meshplane.settings import get_settings

    default_days = get_settings().token_default_expiry_days
    with _registry(mesh) as registry:
        created = create_token(
            registry, _operator(), role=role, domain=domain, name=name, expires=expires, default_days=default_days
        )
    if output_format == "json":
        print_json(created.to_dict())
    else:
        info = created.info
        scope = f" of {info.domain}" if info.domain else ""
        err_console.print(
            f"created {info.role.value}{escape(scope)} token [bold]{escape(info.name)}[/bold] "
            f"(id {info.id}, expires {info.expires_at:%Y-%m-%d %H:%M} UTC); store it now, it is shown only this once:"
        )
        typer.echo(created.token)
    raise typer.Exit(EXIT_OK)


@token_app.command("list")
def list_command(
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked and expired tokens.")] = False,
    mesh: MeshOpt = None,
    output_format: FormatOpt = "table",
    wide: Annotated[bool, typer.Option("--wide", help="Every column of the table, however wide.")] = False,
) -> None:
    """List tokens (ids, names, roles, domains, last use, expiry); never their secrets."""
    _check_format(output_format)
    from meshplane.service.tokens import list_tokens

    with _registry(mesh) as registry:
        tokens = list_tokens(registry, _operator(), include_revoked=include_revoked)
    if output_format == "json":
        print_json([t.to_dict() for t in tokens])
        raise typer.Exit(EXIT_OK)
    if not tokens:
        console.print("no tokens (create one with `meshplane token create --role admin`)")
        raise typer.Exit(EXIT_OK)
    columns = [
        Column("id", key=True),
        Column("name", key=True),
        Column("role", key=True),
        Column("domain", key=True),
        Column("created", drop=4),
        Column("last used", drop=3),
        Column("expires", key=True),
        Column("revoked", key=True, drop=2),
    ]
    rows = [
        [
            t.id,
            escape(t.name),
            t.role.value,
            escape(t.domain or ""),
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "",
            f"{t.expires_at:%Y-%m-%d %H:%M}" + (" (expired)" if t.expired else ""),
            f"{t.revoked_at:%Y-%m-%d}" if t.revoked_at else "",
        ]
        for t in tokens
    ]
    print_table(columns, rows, wide=wide)
    raise typer.Exit(EXIT_OK)


@token_app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (as `token list` shows it).")],
    mesh: MeshOpt = None,
) -> None:
    """Revoke a token: the server refuses it from the next request on."""
    from meshplane.service.tokens import revoke_token

    with _registry(mesh) as registry:
        info = revoke_token(registry, _operator(), token_id)
    console.print(f"token {info.id} ({escape(info.name)}) is revoked")
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add the `token` command group to the CLI."""
    app.add_typer(token_app, name="token")
