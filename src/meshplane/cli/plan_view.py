"""How a plan is shown in the terminal: a Rich tree of domains, products, ports and contract versions."""

from __future__ import annotations

from collections import defaultdict

from rich.markup import escape
from rich.tree import Tree

from meshplane.cli.output import console, print_diagnostic, wide_console
from meshplane.registry.changes import Action, EntityChange, Kind
from meshplane.service.gitops import ContractVersionChange, Plan
from meshplane.service.impact import ImpactReport

_MARK = {
    Action.CREATE: "[green]+ create[/green]",
    Action.UPDATE: "[yellow]~ update[/yellow]",
    Action.RETIRE: "[red]- retire[/red]",
    Action.RESTORE: "[cyan]↺ restore[/cyan]",
}
_LEVEL_STYLE = {"breaking": "bold red", "non-breaking": "yellow", "info": "cyan", "none": "dim"}


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
