"""`meshplane plan|apply --server-url URL`: GitOps against the shared registry, through its server.

The CLI reads the mesh repository as a bundle (`service.bundles`), the server plans it
(``POST /api/v1/apply`` with ``dryRun``) or applies it with the rights of the token
(``MESHPLANE_TOKEN``), and the CLI shows the answer as the local commands show a plan: the same
tree, errors, JSON and exit codes (0 applicable, 1 refused, 2 bad input or unreachable server).
An apply sends the fingerprint of the plan it showed: when the registry changed meanwhile the
server writes nothing (409).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from meshplane.api.client import ApiClient, ServerProblem, diagnostic_from_dict
from meshplane.cli.output import EXIT_FAILED, EXIT_OK, console, err_console, print_json, report_error
from meshplane.cli.plan_view import PlanView, render_plan
from meshplane.cli.reports import CI_FORMATS
from meshplane.cli.reports.plans import emit_plan, emit_refusal
from meshplane.diagnostics import MeshplaneError
from meshplane.mesh.repository import MESH_FILE
from meshplane.service.bundles import localise_files, read_bundle
from meshplane.spec.loader import load_mesh_config

CONTENT_REFUSED = 422
"""A bundle the server read and refused (lint errors, plan errors): exit 1, as the local commands."""


def server_of(server_url: str | None) -> str | None:
    """The server to plan and apply through: `--server-url`, else MESHPLANE_SERVER_URL (None: local)."""
    from meshplane.settings import get_settings  # pydantic-settings: when run, not at --help

    return server_url or get_settings().server_url or None


def connect(server_url: str, token: str | None) -> ApiClient:
    """A client of `server_url` with the token (`--token`, else MESHPLANE_TOKEN); exit 2 without one."""
    from meshplane.settings import get_settings  # pydantic-settings: when run, not at --help

    secret = token or get_settings().token
    if not secret:
        raise MeshplaneError(f"no token for {server_url}: set MESHPLANE_TOKEN (a maintainer or admin token)")
    return ApiClient(server_url, secret)


class RemoteMesh:
    """One mesh folder planned or applied through one server."""

    def __init__(self, client: ApiClient, root: Path, *, prune: bool) -> None:
        self.client = client
        self.root = root
        self.prune = prune
        self.files = read_bundle(root)
        config = load_mesh_config(root / MESH_FILE).model
        self.mesh = config.name if config else root.resolve().name

    def view(self, answer: dict[str, Any]) -> PlanView:
        """The server's answer as a plan view, its files named as locally."""
        local = localise_files(answer, self.root, self.files)
        return PlanView(
            self.mesh,
            self.client.base_url,
            list(local.get("changes") or []),
            list(local.get("errors") or []),
            list(local.get("absent") or []),
        )

    def refusal(self, exc: ServerProblem) -> MeshplaneError:
        """A server's refusal as the local command reports it (its files named as locally)."""
        diagnostics = [
            diagnostic_from_dict(d) for d in localise_files(exc.problem.get("diagnostics") or [], self.root, self.files)
        ]
        if exc.status == CONTENT_REFUSED and diagnostics:
            return MeshplaneError(exc.detail, diagnostics, EXIT_FAILED)
        return MeshplaneError(exc.message, diagnostics, exc.exit_code)


def _fail(exc: MeshplaneError, output_format: str, applying: bool) -> int:
    """Report a refusal as the local commands do; returns the exit code."""
    if output_format == "json" and exc.diagnostics:
        document = {"changes": [], "errors": [d.to_dict() for d in exc.diagnostics]}
        print_json({"applied": False, "auditId": None, **document} if applying else document)
        return exc.exit_code
    if output_format in CI_FORMATS and exc.diagnostics:
        emit_refusal(exc, "plan", output_format)
        return exc.exit_code
    return report_error(exc)


def remote_plan(client: ApiClient, path: Path, *, prune: bool, output_format: str) -> int:
    """`meshplane plan --server-url`: the server's plan, shown as locally; the exit code."""
    try:
        remote = RemoteMesh(client, path, prune=prune)
        try:
            view = remote.view(client.plan_bundle(remote.files, prune=prune))
        except ServerProblem as exc:
            raise remote.refusal(exc) from None
    except MeshplaneError as exc:
        return _fail(exc, output_format, applying=False)
    if output_format == "json":
        print_json(view.to_dict())
    elif output_format in CI_FORMATS:
        emit_plan(view, output_format)
    else:
        render_plan(view)
    return EXIT_FAILED if view.has_errors else EXIT_OK


def remote_apply(client: ApiClient, path: Path, *, prune: bool, output_format: str, confirm: Any) -> int:
    """`meshplane apply --server-url`: plan, show, confirm (`confirm(summary) -> bool`), apply; the exit code."""
    try:
        remote = RemoteMesh(client, path, prune=prune)
        try:
            planned = client.plan_bundle(remote.files, prune=prune)
        except ServerProblem as exc:
            raise remote.refusal(exc) from None
        shown = remote.view(planned)
        if output_format == "table":
            render_plan(shown)
        if shown.has_errors or shown.empty:
            if output_format == "json":
                print_json({"applied": False, "auditId": None, **shown.to_dict()})
            elif shown.has_errors:
                err_console.print("[bold red]apply refused:[/bold red] the plan has errors; nothing was written")
            else:
                console.print("[green]nothing to apply[/green]")
            return EXIT_FAILED if shown.has_errors else EXIT_OK
        if not confirm(shown.summary()):
            err_console.print("apply cancelled; nothing was written")
            return EXIT_FAILED
        try:
            answer = client.apply_bundle(
                remote.files,
                prune=prune,
                expected_fingerprint=planned.get("fingerprint"),
                expected_state=planned.get("state"),
            )
        except ServerProblem as exc:
            raise remote.refusal(exc) from None
    except MeshplaneError as exc:
        return _fail(exc, output_format, applying=True)
    result = remote.view(answer)
    if output_format == "json":
        print_json({"applied": bool(answer.get("applied")), "auditId": answer.get("auditId"), **result.to_dict()})
    elif not answer.get("applied"):
        console.print("[green]nothing to apply[/green]: the registry already holds these changes (another apply)")
    else:
        console.print(
            f"[bold green]applied[/bold green]: {result.summary()} "
            f"(audit entry #{answer.get('auditId')}, by {escape(str(answer.get('actor')))})"
        )
    return EXIT_OK


def refuse_local_options(**given: bool) -> None:
    """Options of a local apply have no meaning through a server: exit 2 naming them."""
    named = [name for name, value in given.items() if value]
    if named:
        raise typer.BadParameter(
            "through a server the registry exists already and the audit entry names the token: "
            f"drop {' and '.join(named)}",
            param_hint="--server-url",
        )


__all__ = ["RemoteMesh", "connect", "refuse_local_options", "remote_apply", "remote_plan", "server_of"]
