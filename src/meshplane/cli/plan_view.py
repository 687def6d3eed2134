"""How a plan is shown in the terminal: a Rich tree of domains, products, ports and contract versions.

The tree is drawn from the plan's JSON form (`PlanView`): a plan computed here (`Plan`) and a plan
answered by a meshplane server (``POST /api/v1/apply``) show the same way, line for line.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.markup import escape
from rich.tree import Tree

from meshplane.api.client import diagnostic_from_dict
from meshplane.cli.output import console, print_diagnostic, wide_console
from meshplane.registry.changes import Action, Kind
from meshplane.service.gitops import Plan

_MARK = {
    Action.CREATE.value: "[green]+ create[/green]",
    Action.UPDATE.value: "[yellow]~ update[/yellow]",
    Action.RETIRE.value: "[red]- retire[/red]",
    Action.RESTORE.value: "[cyan]↺ restore[/cyan]",
}
_LABEL = {
    Kind.DOMAIN.value: "domain",
    Kind.PRODUCT.value: "product",
    Kind.OUTPUT_PORT.value: "output port",
    Kind.INPUT_PORT.value: "input port",
    Kind.CONTRACT.value: "contract",
    Kind.MESH.value: "settings of",
}
_PORTS = (Kind.OUTPUT_PORT.value, Kind.INPUT_PORT.value)
_LEVEL_STYLE = {"breaking": "bold red", "non-breaking": "yellow", "info": "cyan", "none": "dim"}


@dataclass
class PlanView:
    """A plan as shown: the `plan --format json` document, its mesh and registry, and what was left alone.

    `changes` and `errors` have the shapes of `Plan.to_dict`; `absent` lists the entities the
    registry has and the repository no longer declares (``{"kind", "id"}``), kept without --prune.
    """

    mesh: str
    registry: str
    changes: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    absent: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, plan: Plan) -> PlanView:
        """The view of a plan computed here."""
        document = plan.to_dict()
        absent = [{"kind": c.kind.value, "id": c.id} for c in plan.changeset.absent]
        return cls(plan.mesh, plan.registry, document["changes"], document["errors"], absent)

    @property
    def empty(self) -> bool:
        """True when the registry already matches the repository."""
        return not self.changes

    @property
    def has_errors(self) -> bool:
        """True when apply must refuse this plan."""
        return any(e.get("severity", "error") == "error" for e in self.errors)

    def counts(self) -> dict[str, int]:
        """Number of changes per action (a new contract version is a creation)."""
        counts = Counter(str(c.get("action")) for c in self.changes)
        return {a.value: counts.get(a.value, 0) for a in Action}

    def summary(self) -> str:
        """One line: ``3 to create, 1 to update, 0 to retire, 0 to restore`` (as `Plan.summary`)."""
        return ", ".join(f"{n} to {action}" for action, n in self.counts().items())

    def to_dict(self) -> dict[str, Any]:
        """The `plan --format json` shape: ``{"changes": [...], "errors": [...]}``."""
        return {"changes": self.changes, "errors": self.errors}


def _entity_line(change: Mapping[str, Any]) -> str:
    kind = str(change.get("kind"))
    name = str(change.get("id"))
    if kind in _PORTS:
        name = f"{change.get('name')}@{change.get('version')} → {change.get('contractId')}"
    fields = change.get("fields") or []
    shown = f" [dim]({escape(', '.join(fields))})[/dim]" if fields else ""
    return f"{_MARK[str(change.get('action'))]} {_LABEL.get(kind, kind)} [bold]{escape(name)}[/bold]{shown}"


def _add_impact(node: Tree, impact: Mapping[str, Any]) -> None:
    summary = impact.get("summary") or {}
    major = (impact.get("contract") or {}).get("major")
    branch = node.add(
        f"[bold]impact[/bold] on consumers of major version {major}: "
        f"{summary.get('consumers')} product(s) in {summary.get('domains')} domain(s), "
        f"{summary.get('affected')} of them affected, up to depth {summary.get('maxDepth')}"
    )
    for hit in impact.get("consumers") or []:
        team = f", team {escape(str(hit['team']))}" if hit.get("team") else ""
        branch.add(
            f"[magenta]{escape(str(hit.get('product')))}[/magenta] "
            f"[dim]({escape(str(hit.get('domain')))}{team}; depth {hit.get('depth')})[/dim] "
            f"path {escape(' → '.join(hit.get('path') or []))} — {escape(str(hit.get('usage')))}"
        )


def _add_version(node: Tree, change: Mapping[str, Any]) -> None:
    version_id = escape(str(change.get("version")))
    base = change.get("from")
    diff = change.get("diff")
    if diff is None:
        origin = "first version" if base is None else f"from {base}"
        node.add(f"[green]+ version[/green] [bold]{version_id}[/bold] [dim]({origin})[/dim]")
        return
    level = str(diff.get("level"))
    style = _LEVEL_STYLE.get(level, "")
    bump = diff.get("requiredBump")
    ok = "[green]✓ semver ok[/green]" if diff.get("semverOk") else f"[bold red]✗ needs a {bump} bump[/bold red]"
    version = node.add(
        f"[green]+ version[/green] [bold]{version_id}[/bold] from {escape(str(base or ''))}: "
        f"[{style}]{level}[/{style}], requires {bump} — {ok}"
    )
    for item in diff.get("changes") or []:
        sev = str(item.get("severity"))
        version.add(
            f"[{_LEVEL_STYLE.get(sev, '')}]{escape(sev)}[/] {escape(str(item.get('message')))} "
            f"[dim]{escape(str(item.get('path')))} \\[{escape(str(item.get('rule')))}][/dim]"
        )
    if change.get("impact") is not None:
        _add_impact(version, change["impact"])


def _tree(view: PlanView) -> Tree:
    tree = Tree(f"[bold]plan[/bold] for mesh [bold]{escape(view.mesh)}[/bold] → registry {escape(view.registry)}")
    domains: dict[str, Tree] = {}
    owners: dict[tuple[str, str, str], Tree] = {}
    entities = [c for c in view.changes if c.get("kind") != Kind.CONTRACT_VERSION.value]
    versions = [c for c in view.changes if c.get("kind") == Kind.CONTRACT_VERSION.value]
    domain_changes = {str(c["id"]): c for c in entities if c.get("kind") == Kind.DOMAIN.value}

    def domain_node(domain: str) -> Tree:
        if domain not in domains:
            change = domain_changes.get(domain)
            label = _entity_line(change) if change else f"domain [bold]{escape(domain)}[/bold]"
            domains[domain] = tree.add(label)
        return domains[domain]

    def owner_node(kind: str, domain: str, ident: str, label: str) -> Tree:
        key = (kind, domain, ident)
        if key not in owners:
            owners[key] = domain_node(domain).add(label)
        return owners[key]

    for change in entities:
        if change.get("kind") == Kind.MESH.value:  # mesh.yaml's settings: the whole mesh
            tree.add(_entity_line(change))
    for domain in domain_changes:
        domain_node(domain)
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for change in entities:
        if change.get("kind") in _PORTS:
            grouped[str(change.get("product") or "")].append(change)
    for change in entities:
        if change.get("kind") in (Kind.PRODUCT.value, Kind.CONTRACT.value):
            owner_node(str(change["kind"]), str(change.get("domain") or "?"), str(change["id"]), _entity_line(change))
    for product_id, ports in grouped.items():
        domain = str(ports[0].get("domain") or "?")
        label = f"product [bold]{escape(product_id)}[/bold]"
        node = owner_node(Kind.PRODUCT.value, domain, product_id, label)
        for port in ports:
            node.add(_entity_line(port))
    for version in versions:
        contract_id = str(version.get("id"))
        label = f"contract [bold]{escape(contract_id)}[/bold]"
        node = owner_node(Kind.CONTRACT.value, str(version.get("domain")), contract_id, label)
        _add_version(node, version)
    if view.empty:
        tree.add("[green]no changes: the registry matches the repository[/green]")
    return tree


def render_plan(plan: Plan | PlanView) -> None:
    """The plan as a Rich tree: domain → product (ports) and contract (versions, diff, impact)."""
    view = plan if isinstance(plan, PlanView) else PlanView.of(plan)
    wide_console().print(_tree(view))
    if view.absent:
        names = ", ".join(f"{c.get('kind')} {c.get('id')}" for c in view.absent[:10])
        more = len(view.absent) - 10
        console.print(
            f"[dim]not in the repository (kept; --prune retires them): {escape(names)}"
            f"{f' and {more} more' if more > 0 else ''}[/dim]"
        )
    for diag in view.errors:
        print_diagnostic(diagnostic_from_dict(diag))
    failing = sum(1 for e in view.errors if e.get("severity", "error") == "error")
    warned = len(view.errors) - failing
    errors = f", [bold red]{failing} error(s)[/bold red]" if failing else ""
    warnings = f", [yellow]{warned} warning(s)[/yellow]" if warned else ""
    console.print(f"[bold]plan:[/bold] {view.summary()}{errors}{warnings}")
