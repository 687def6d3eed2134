"""`meshplane plan [PATH]` and `meshplane apply [PATH]`: GitOps between the mesh repo and the registry.

Locally they read and write the registry the mesh resolves to (`service.registries`; none is
created implicitly: `apply --init` or `meshplane db init` create one). With `--server-url` (or
MESHPLANE_SERVER_URL) the server plans and applies, with the token's rights (`cli.remote_gitops`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_FAILED, EXIT_OK, console, err_console, print_json, report_error
from meshplane.diagnostics import MeshplaneError

if TYPE_CHECKING:
    from meshplane.api.client import ApiClient

PathArg = Annotated[
    Path | None, typer.Argument(help="The mesh folder (default: the one holding the working directory).")
]
FormatOpt = Annotated[str, typer.Option("--format", help="table or json.")]
PlanFormatOpt = Annotated[
    str, typer.Option("--format", help="table, json, github (Actions annotations) or gitlab (Code Quality).")
]
PruneOpt = Annotated[
    bool, typer.Option("--prune", help="Retire domains, products and contracts that the repository no longer has.")
]
ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server-url",
        help="Plan and apply through this meshplane server, with the rights of MESHPLANE_TOKEN "
        "(default: MESHPLANE_SERVER_URL; without either, the local registry).",
    ),
]
TokenOpt = Annotated[
    str | None, typer.Option("--token", help="API token (default: MESHPLANE_TOKEN, preferred).", show_default=False)
]


def mesh_path(path: Path | None) -> Path:
    """The mesh folder to use: the argument, else the nearest folder above the working directory with mesh.yaml."""
    if path is not None:
        return path
    from meshplane.mesh.repository import find_mesh_root  # pydantic models: only when run

    return find_mesh_root(Path.cwd()) or Path()


def _check_format(output_format: str, *extra: str) -> None:
    if output_format not in ("table", "json", *extra):
        raise typer.BadParameter(f"use {', '.join(('table', 'json', *extra))}", param_hint="--format")


def _refused_json(exc: MeshplaneError) -> dict[str, Any]:
    return {"changes": [], "errors": [d.to_dict() for d in exc.diagnostics] or [{"message": exc.message}]}


def _remote(server_url: str | None, token: str | None) -> ApiClient | None:
    """A client of the server to plan and apply through (None: the local registry)."""
    from meshplane.cli.remote_gitops import connect, server_of

    server = server_of(server_url)
    if server is None:
        return None
    try:
        return connect(server, token)
    except MeshplaneError as exc:
        raise typer.Exit(report_error(exc)) from None


def plan(
    path: PathArg = None,
    *,
    prune: PruneOpt = False,
    output_format: PlanFormatOpt = "table",
    server_url: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Show what `apply` would change in the registry: entities, new contract versions with their diff, impact.

    Exit 0 when the plan can be applied, 1 when it has errors (breaking change without a major bump,
    changed content under a registered version, removal of something still consumed, lint errors),
    2 when there is no registry to plan against (none is created) or the server cannot be used.
    """
    from meshplane.cli.reports import CI_FORMATS

    _check_format(output_format, *CI_FORMATS)
    client = _remote(server_url, token)
    if client is not None:
        from meshplane.cli.remote_gitops import remote_plan

        with client:
            raise typer.Exit(remote_plan(client, mesh_path(path), prune=prune, output_format=output_format))
    from meshplane.cli.plan_view import render_plan
    from meshplane.service.gitops import plan_mesh

    try:
        result = plan_mesh(mesh_path(path), prune=prune)
    except MeshplaneError as exc:
        if output_format == "json" and exc.diagnostics:
            print_json(_refused_json(exc))
            raise typer.Exit(exc.exit_code) from None
        if output_format in CI_FORMATS and exc.diagnostics:
            from meshplane.cli.reports.plans import emit_refusal

            emit_refusal(exc, str(mesh_path(path)), output_format)
            raise typer.Exit(exc.exit_code) from None
        raise typer.Exit(report_error(exc)) from None
    if output_format == "json":
        print_json(result.to_dict())
    elif output_format in CI_FORMATS:
        from meshplane.cli.plan_view import PlanView
        from meshplane.cli.reports.plans import emit_plan

        emit_plan(PlanView.of(result), output_format)
    else:
        render_plan(result)
    raise typer.Exit(EXIT_FAILED if result.has_errors else EXIT_OK)


def _confirmed(summary: str) -> bool:
    try:
        return typer.confirm(f"apply {summary}?", default=False, err=True)
    except (typer.Abort, click.exceptions.Abort):
        err_console.print("\n[bold red]error:[/bold red] no confirmation on standard input: pass --yes to apply")
        return False


def apply(
    path: PathArg = None,
    *,
    prune: PruneOpt = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking for confirmation.")] = False,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who applies, for the audit log (default: the OS user).")
    ] = None,
    output_format: FormatOpt = "table",
    init: Annotated[
        bool, typer.Option("--init", help="Create the local registry when it does not exist yet (else exit 2).")
    ] = False,
    server_url: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Record the repository in the registry, all or nothing, in one transaction.

    Shows the plan, asks for confirmation (unless --yes), refuses a plan with errors (exit 1,
    nothing written). A second apply of the same repository changes nothing. Through a server,
    the apply is refused (exit 1, nothing written) when the registry changed since the plan shown.
    """
    _check_format(output_format)
    client = _remote(server_url, token)
    if client is not None:
        from meshplane.cli.remote_gitops import refuse_local_options, remote_apply

        refuse_local_options(**{"--actor": actor is not None, "--init": init})
        with client:
            code = remote_apply(
                client,
                mesh_path(path),
                prune=prune,
                output_format=output_format,
                confirm=lambda summary: yes or _confirmed(summary),
            )
        raise typer.Exit(code)
    from meshplane.cli.plan_view import render_plan
    from meshplane.service.gitops import apply_mesh, load_for_gitops, plan_mesh
    from meshplane.service.registries import open_mesh_registry

    registry = None
    try:
        repo = load_for_gitops(mesh_path(path))
        registry = open_mesh_registry(repo.root, create=init)
        shown = plan_mesh(repo, prune=prune, registry=registry)
        if output_format == "table":
            render_plan(shown)
        if shown.has_errors:
            if output_format == "json":
                print_json({"applied": False, "auditId": None, **shown.to_dict()})
            else:
                err_console.print("[bold red]apply refused:[/bold red] the plan has errors; nothing was written")
            raise typer.Exit(EXIT_FAILED)
        if shown.empty:
            if output_format == "json":
                print_json({"applied": False, "auditId": None, **shown.to_dict()})
            else:
                console.print("[green]nothing to apply[/green]")
            raise typer.Exit(EXIT_OK)
        if not yes and not _confirmed(shown.summary()):
            err_console.print("apply cancelled; nothing was written")
            raise typer.Exit(EXIT_FAILED)
        result = apply_mesh(
            repo,
            prune=prune,
            actor=actor,
            expected_fingerprint=shown.fingerprint,
            expected_state=shown.state,
            registry=registry,
        )
    except MeshplaneError as exc:
        if output_format == "json" and exc.diagnostics:
            print_json({"applied": False, "auditId": None, **_refused_json(exc)})
            raise typer.Exit(exc.exit_code) from None
        raise typer.Exit(report_error(exc)) from None
    finally:
        if registry is not None:
            registry.close()
    if output_format == "json":
        print_json({"applied": result.changed, "auditId": result.audit_id, **result.plan.to_dict()})
    elif not result.changed:
        console.print("[green]nothing to apply[/green]: the registry already holds these changes (another apply)")
    else:
        console.print(
            f"[bold green]applied[/bold green]: {result.plan.summary()} "
            f"(audit entry #{result.audit_id}, by {escape(result.actor)})"
        )
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add `plan` and `apply` to the CLI."""
    app.command("plan")(plan)
    app.command("apply")(apply)
