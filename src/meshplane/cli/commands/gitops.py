"""`meshplane plan [PATH]` and `meshplane apply [PATH]`: GitOps between the mesh repo and the registry."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from meshplane.cli.output import EXIT_FAILED, EXIT_OK, console, err_console, print_diagnostic, print_json, report_error
from meshplane.diagnostics import MeshplaneError
from meshplane.mesh.repository import find_mesh_root
from meshplane.registry.changes import Action, EntityChange, Kind
from meshplane.service.gitops import ContractVersionChange, Plan, apply_mesh, load_for_gitops, plan_mesh
from meshplane.service.impact import ImpactReport

_MARK = {
    Action.CREATE: "[green]+ create[/green]",
    Action.UPDATE: "[yellow]~ update[/yellow]",
    Action.RETIRE: "[red]- retire[/red]",
    Action.RESTORE: "[cyan]↺ restore[/cyan]",
}
_LEVEL_STYLE = {"breaking": "bold red", "non-breaking": "yellow", "info": "cyan", "none": "dim"}

PathArg = Annotated[
    Path | None, typer.Argument(help="The mesh folder (default: the one holding the working directory).")
]
FormatOpt = Annotated[str, typer.Option("--format", help="table or json.")]
PruneOpt = Annotated[
    bool, typer.Option("--prune", help="Retire domains, products and contracts that the repository no longer has.")
]


def mesh_path(path: Path | None) -> Path:
    """The mesh folder to use: the argument, else the nearest folder above the working directory with mesh.yaml."""
    if path is not None:
        return path
    return find_mesh_root(Path.cwd()) or Path()


def wide_console() -> Console:
    """The console on a terminal; a wide one when piped, so ids are never cut off in logs."""
    return console if console.is_terminal else Console(width=200, highlight=False, soft_wrap=True)


def _check_format(output_format: str) -> None:
    if output_format not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")


def _entity_line(change: EntityChange) -> str:
    label = {
        Kind.DOMAIN: "domain",
        Kind.PRODUCT: "product",
        Kind.OUTPUT_PORT: "output port",
        Kind.INPUT_PORT: "input port",
        Kind.CONTRACT: "contract",
    }.get(change.kind, change.kind.value)
    name = change.id
    if change.kind in (Kind.OUTPUT_PORT, Kind.INPUT_PORT):
        name = f"{change.detail.get('name')}@{change.detail.get('version')} → {change.detail.get('contractId')}"
    fields = f" [dim]({escape(', '.join(change.fields))})[/dim]" if change.fields else ""
    return f"{_MARK[change.action]} {label} [bold]{escape(name)}[/bold]{fields}"


def _add_impact(node: Tree, impact: ImpactReport) -> None:
    summary = impact.summary()
    branch = node.add(
        f"[bold]impact[/bold] on consumers of major version {impact.major}: "
        f"{summary['affected']} product(s) in {summary['domains']} domain(s), up to depth {summary['maxDepth']}"
    )
    for hit in impact.consumers:
        c = hit.consumer
        team = f", team {escape(c.team)}" if c.team else ""
        branch.add(
            f"[magenta]{escape(c.product)}[/magenta] [dim]({escape(c.domain)}{team}; depth {c.depth})[/dim] "
            f"path {escape(' → '.join(c.path))} — {escape(hit.usage.value)}"
        )


def _add_version(node: Tree, change: ContractVersionChange) -> None:
    spec = change.spec
    if change.diff is None:
        origin = "first version" if change.base_version is None else f"from {change.base_version}"
        node.add(f"[green]+ version[/green] [bold]{escape(spec.version)}[/bold] [dim]({origin})[/dim]")
        return
    diff = change.diff
    level = str(diff.level)
    style = _LEVEL_STYLE.get(level, "")
    ok = "[green]✓ semver ok[/green]" if diff.semver_ok else f"[bold red]✗ needs a {diff.required_bump} bump[/bold red]"
    version = node.add(
        f"[green]+ version[/green] [bold]{escape(spec.version)}[/bold] from {escape(change.base_version or '')}: "
        f"[{style}]{level}[/{style}], requires {diff.required_bump} — {ok}"
    )
    for item in diff.to_dict().get("changes", []):
        sev = str(item.get("severity"))
        version.add(
            f"[{_LEVEL_STYLE.get(sev, '')}]{escape(sev)}[/] {escape(str(item.get('message')))} "
            f"[dim]{escape(str(item.get('path')))} \\[{escape(str(item.get('rule')))}][/dim]"
        )
    if change.impact is not None:
        _add_impact(version, change.impact)


def render_plan(plan: Plan) -> None:
    """The plan as a Rich tree: domain → product (ports) and contract (versions, diff, impact)."""
    tree = Tree(f"[bold]plan[/bold] for mesh [bold]{escape(plan.mesh)}[/bold] → registry {escape(plan.registry)}")
    domains: dict[str, Tree] = {}
    products: dict[tuple[str, str], Tree] = {}
    contracts: dict[tuple[str, str], Tree] = {}
    domain_changes = {c.id: c for c in plan.changeset.entities if c.kind is Kind.DOMAIN}

    def domain_node(domain: str) -> Tree:
        if domain not in domains:
            change = domain_changes.get(domain)
            label = _entity_line(change) if change else f"domain [bold]{escape(domain)}[/bold]"
            domains[domain] = tree.add(label)
        return domains[domain]

    def owner_node(store: dict[tuple[str, str], Tree], domain: str, ident: str, label: str) -> Tree:
        key = (domain, ident)
        if key not in store:
            store[key] = domain_node(domain).add(label)
        return store[key]

    for domain in domain_changes:
        domain_node(domain)
    grouped: dict[str, list[EntityChange]] = defaultdict(list)
    for change in plan.changeset.entities:
        if change.kind in (Kind.OUTPUT_PORT, Kind.INPUT_PORT):
            grouped[change.product or ""].append(change)
    for change in plan.changeset.entities:
        domain = change.domain or "?"
        if change.kind is Kind.PRODUCT:
            owner_node(products, domain, change.id, _entity_line(change))
        elif change.kind is Kind.CONTRACT:
            owner_node(contracts, domain, change.id, _entity_line(change))
    for product_id, ports in grouped.items():
        domain = ports[0].domain or "?"
        node = owner_node(products, domain, product_id, f"product [bold]{escape(product_id)}[/bold]")
        for port in ports:
            node.add(_entity_line(port))
    for version in plan.versions:
        spec = version.spec
        node = owner_node(contracts, spec.domain, spec.contract_id, f"contract [bold]{escape(spec.contract_id)}[/bold]")
        _add_version(node, version)
    if plan.empty:
        tree.add("[green]no changes: the registry matches the repository[/green]")
    wide_console().print(tree)
    if plan.changeset.absent:
        names = ", ".join(f"{c.kind.value} {c.id}" for c in plan.changeset.absent[:10])
        more = len(plan.changeset.absent) - 10
        console.print(
            f"[dim]not in the repository (kept; --prune retires them): {escape(names)}"
            f"{f' and {more} more' if more > 0 else ''}[/dim]"
        )
    for diag in plan.errors:
        print_diagnostic(diag)
    errors = f", [bold red]{len(plan.errors)} error(s)[/bold red]" if plan.errors else ""
    console.print(f"[bold]plan:[/bold] {plan.summary()}{errors}")


def _refused_json(exc: MeshplaneError) -> dict[str, Any]:
    return {"changes": [], "errors": [d.to_dict() for d in exc.diagnostics] or [{"message": exc.message}]}


def plan(
    path: PathArg = None,
    prune: PruneOpt = False,
    output_format: FormatOpt = "table",
) -> None:
    """Show what `apply` would change in the registry: entities, new contract versions with their diff, impact.

    Exit 0 when the plan can be applied, 1 when it has errors (breaking change without a major bump,
    changed content under a registered version, removal of something still consumed, lint errors).
    """
    _check_format(output_format)
    try:
        result = plan_mesh(mesh_path(path), prune=prune)
    except MeshplaneError as exc:
        if output_format == "json" and exc.diagnostics:
            print_json(_refused_json(exc))
            raise typer.Exit(exc.exit_code) from None
        raise typer.Exit(report_error(exc)) from None
    if output_format == "json":
        print_json(result.to_dict())
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
    prune: PruneOpt = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking for confirmation.")] = False,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who applies, for the audit log (default: the OS user).")
    ] = None,
    output_format: FormatOpt = "table",
) -> None:
    """Record the repository in the registry, all or nothing, in one transaction.

    Shows the plan, asks for confirmation (unless --yes), refuses a plan with errors (exit 1,
    nothing written). A second apply of the same repository changes nothing.
    """
    _check_format(output_format)
    try:
        repo = load_for_gitops(mesh_path(path))
        shown = plan_mesh(repo, prune=prune)
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
        result = apply_mesh(repo, prune=prune, actor=actor, expected_fingerprint=shown.fingerprint)
    except MeshplaneError as exc:
        if output_format == "json" and exc.diagnostics:
            print_json({"applied": False, "auditId": None, **_refused_json(exc)})
            raise typer.Exit(exc.exit_code) from None
        raise typer.Exit(report_error(exc)) from None
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
