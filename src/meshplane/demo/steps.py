"""The demo use case: a working copy of the example mesh, its lake, and a tour of meshplane.

`meshplane demo` copies `examples/holding` into a working folder, generates its lake
deterministically, and then runs the platform's main jobs on it, step by step. Each step is a
function returning a `DemoStep`; the CLI only presents them.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from meshplane.demo.monitoring import monitor_and_notify
from meshplane.diagnostics import MeshplaneError
from meshplane.registry import Registry
from meshplane.service.gitops import apply_mesh, plan_mesh
from meshplane.service.linting import LintReport, lint_path

DEMO_MARKER = ".meshplane-demo"


@dataclass
class DemoStep:
    """What one step of the demo did."""

    title: str
    ok: bool
    lines: list[str] = field(default_factory=list)
    detail: object | None = None


@dataclass(frozen=True)
class DemoOptions:
    """How to run the demo."""

    work_dir: Path
    rows: int = 1000
    seed: int = 7
    now: datetime | None = None


def example_mesh_source() -> Path:
    """The example mesh: shipped inside the package, or the repository's `examples/holding`."""
    packaged = Path(str(resources.files("meshplane").joinpath("_examples", "holding")))
    if (packaged / "mesh.yaml").is_file():
        return packaged
    repo = Path(__file__).resolve().parents[3] / "examples" / "holding"
    if (repo / "mesh.yaml").is_file():
        return repo
    raise MeshplaneError("the example mesh is not installed (expected meshplane/_examples/holding or examples/holding)")


def prepare_work_dir(work_dir: Path) -> Path:
    """Create (or reset) the working folder; refuses to touch a non-empty folder it did not create."""
    if work_dir.exists():
        if not work_dir.is_dir():
            raise MeshplaneError(f"{work_dir} exists and is not a folder")
        if any(work_dir.iterdir()) and not (work_dir / DEMO_MARKER).exists():
            raise MeshplaneError(f"{work_dir} is not empty and was not made by `meshplane demo`; choose another --dir")
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    (work_dir / DEMO_MARKER).write_text("created by meshplane demo; safe to delete\n", encoding="utf-8")
    return work_dir


def copy_example(options: DemoOptions) -> DemoStep:
    """Copy the example mesh into the working folder."""
    prepare_work_dir(options.work_dir)
    source = example_mesh_source()
    mesh_dir = options.work_dir / "mesh"
    shutil.copytree(source, mesh_dir, ignore=shutil.ignore_patterns("lake", ".meshplane", "__pycache__"))
    domains = sorted(p.name for p in (mesh_dir / "domains").iterdir() if p.is_dir())
    return DemoStep("Copy the example mesh", True, [f"{mesh_dir}", f"domains: {', '.join(domains)}"])


def generate(options: DemoOptions) -> DemoStep:
    """Generate the lake of the example mesh (Parquet, CSV, Iceberg)."""
    from meshplane.demo.lakegen import generate_lake

    mesh_dir = options.work_dir / "mesh"
    summary = generate_lake(mesh_dir, mesh_dir / "lake", rows=options.rows, seed=options.seed, now=options.now)
    lines = [f"{t.contract_id}: {t.rows:,} rows, {t.format} at {t.path}" for t in summary.tables]
    return DemoStep(f"Generate the lake ({options.rows:,} rows)", True, lines, summary)


def lint(options: DemoOptions) -> DemoStep:
    """Lint the whole mesh."""
    report: LintReport = lint_path(options.work_dir / "mesh")
    counts = report.counts()
    line = (
        f"{report.summary.get('domains', 0)} domains, {report.summary.get('products', 0)} products, "
        f"{report.summary.get('contracts', 0)} contracts: {counts.get('error', 0)} error(s), "
        f"{counts.get('warning', 0)} warning(s)"
    )
    return DemoStep("Lint the mesh", not report.has_errors, [line, *(str(d) for d in report.diagnostics[:10])], report)


def demo_registry(options: DemoOptions) -> Registry:
    """The demo's own SQLite registry (never the one MESHPLANE_DATABASE_URL points at)."""
    path = options.work_dir / "mesh" / ".meshplane" / "registry.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return Registry(f"sqlite:///{path}")


def apply(options: DemoOptions) -> DemoStep:
    """Record the mesh in the registry, then plan again: nothing left to change."""
    with demo_registry(options) as registry:
        result = apply_mesh(options.work_dir / "mesh", actor="demo", registry=registry)
        again = plan_mesh(options.work_dir / "mesh", registry=registry)
    lines = [
        f"applied: {result.plan.summary()} (audit entry #{result.audit_id})",
        f"plan again: {'no changes' if again.empty else again.summary()}",
    ]
    return DemoStep("Apply the mesh to the registry", result.changed and again.empty, lines, result)


CHANGED_CONTRACT = "customer.profiles.customers-1.1.0.odcs.yaml"


def plan_breaking_change(options: DemoOptions) -> DemoStep:
    """Plan the prepared v1.1.0 of customer.profiles.customers, which drops a column others read."""
    source = example_mesh_source().parent / "changes" / CHANGED_CONTRACT
    if not source.is_file():
        source = Path(__file__).resolve().parents[3] / "examples" / "changes" / CHANGED_CONTRACT
    changed = options.work_dir / "mesh-change"
    shutil.copytree(options.work_dir / "mesh", changed, ignore=shutil.ignore_patterns("lake", ".meshplane"))
    product = changed / "domains" / "customer" / "products" / "profiles"
    shutil.copyfile(source, product / "contracts" / "customers.odcs.yaml")
    descriptor = product / "product.odps.yaml"
    descriptor.write_text(
        _set_port_version(descriptor.read_text(encoding="utf-8"), "customers", "1.1.0"), encoding="utf-8"
    )
    point_at_demo_registry(changed)
    with demo_registry(options) as registry:
        plan = plan_mesh(changed, registry=registry)
    lines = [f"plan of {changed}: {len(plan.errors)} error(s) — apply would refuse it"]
    lines += [f"error: {d.message}" for d in plan.errors]
    for version in plan.versions:
        impact = version.impact
        if impact is None:
            continue
        lines.append(f"impact of {version.spec.contract_id} {version.base_version} → {version.spec.version}:")
        for hit in impact.consumers:
            c = hit.consumer
            lines.append(
                f"  depth {c.depth}: {c.product} ({c.domain}, {c.team}) via {' → '.join(c.path)}: {hit.reason}"
            )
    return DemoStep("Plan a breaking change (customers 1.1.0 drops `segment`)", plan.has_errors, lines, plan)


MIGRATION_DAYS = 90
"""How long the demo's deprecated customers port is served beside its new major."""


def migrate_side_by_side(options: DemoOptions) -> DemoStep:
    """Publish the breaking change as 2.0.0 beside 1.x with a sunset date, and move one consumer to it."""
    from meshplane.mesh import load_mesh
    from meshplane.service.migrations import list_migrations

    mesh = options.work_dir / "mesh"
    migrated = options.work_dir / "mesh-migrate"
    shutil.copytree(mesh, migrated, ignore=shutil.ignore_patterns("lake", ".meshplane"))
    product = migrated / "domains" / "customer" / "products" / "profiles"
    new_major = options.work_dir / "mesh-change" / product.relative_to(migrated) / "contracts" / "customers.odcs.yaml"
    text = new_major.read_text(encoding="utf-8").replace("\nversion: 1.1.0\n", "\nversion: 2.0.0\n", 1)
    (product / "contracts" / "customers_v2.odcs.yaml").write_text(text, encoding="utf-8")
    now = options.now or datetime.now(UTC)
    sunset = (now + timedelta(days=MIGRATION_DAYS)).date().isoformat()
    descriptor = product / "product.odps.yaml"
    old = "    contractId: customer.profiles.customers\n"
    deprecation = (
        "    customProperties:\n"
        "      - property: deprecated\n        value: true\n"
        f"      - property: sunsetDate\n        value: '{sunset}'\n"
        "      - property: replacedBy\n        value: customers_v2\n"
        "  - name: customers_v2\n"
        "    description: One row per customer, without the segment (2.0.0).\n"
        "    type: tables\n    version: 2.0.0\n    contractId: customer.profiles.customers\n"
    )
    descriptor.write_text(descriptor.read_text(encoding="utf-8").replace(old, old + deprecation, 1), encoding="utf-8")
    sales = migrated / "domains" / "retail" / "products" / "sales" / "product.odps.yaml"
    reads = "    version: 1.0.0\n    contractId: customer.profiles.customers\n"
    sales.write_text(sales.read_text(encoding="utf-8").replace(reads, reads.replace("1.0.0", "2.0.0"), 1), "utf-8")
    point_at_demo_registry(migrated)
    with demo_registry(options) as registry:  # the lake stays the demo mesh's: its port index is unchanged
        result = apply_mesh(load_mesh(migrated, lake_base=mesh), actor="demo", registry=registry)
        rows = list_migrations(registry, now=now)
    lines = [f"applied {migrated}: {result.plan.summary()}"]
    lines += [f"warning: {d.message}" for d in result.plan.errors]
    lines.append("meshplane migrations:")
    for row in rows:
        lines.append(
            f"  {row['old']['product']}/{row['old']['port']}@{row['old']['version']} → "
            f"{row['new']['port']}@{row['new']['version'] if row['new'] else '-'}: sunset {row['sunsetDate']} "
            f"({row['daysToSunset']} days), {len(row['moved'])} moved, {len(row['remaining'])} remaining"
        )
        lines += [f"    moved: {c['product']} ({c['team']})" for c in row["moved"]]
        lines += [f"    remaining: {c['product'] or c['domain']} ({c['how']})" for c in row["remaining"]]
    ok = len(rows) == 1 and len(rows[0]["moved"]) == 1 and bool(rows[0]["remaining"])
    return DemoStep("Publish customers 2.0.0 beside 1.x, deprecate 1.x, move one consumer", ok, lines, rows)


def point_at_demo_registry(checkout: Path) -> None:
    """Point a checkout beside the demo's mesh at the demo's registry (``registry:`` in its mesh.yaml).

    As a team's checkout names the shared registry: `meshplane plan` there reads the registry the
    demo applied, never an empty one of its own (none is created implicitly).
    """
    config = checkout / "mesh.yaml"
    text = config.read_text(encoding="utf-8").rstrip("\n")
    config.write_text(f"{text}\nregistry: sqlite:///../mesh/.meshplane/registry.db\n", encoding="utf-8")


def _set_port_version(text: str, port: str, version: str) -> str:
    """Set the version of output port `port` in a descriptor's text (keeps the layout)."""
    lines = text.splitlines(keepends=True)
    in_port = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("- name:"):
            in_port = stripped.split(":", 1)[1].strip().strip("'\"") == port
        elif in_port and stripped.startswith("version:"):
            indent = line[: len(line) - len(line.lstrip())]
            lines[index] = f"{indent}version: {version}\n"
            break
    return "".join(lines)


def test_products(options: DemoOptions) -> DemoStep:
    """Test every contract of the mesh against its lake data; record the runs in the registry."""
    from meshplane.registry import record_test_run
    from meshplane.service.testing import run_tests

    runs = run_tests(
        None, all_contracts=True, mesh_root=options.work_dir / "mesh", clock=lambda: options.now or datetime.now(UTC)
    )
    with demo_registry(options) as registry:
        for run in runs:
            if run.contract_id is not None and run.contract_version is not None:
                record_test_run(registry, run.to_dict(), actor="demo")
    lines = []
    for run in runs:
        document = run.to_dict()
        checks = document.get("checks", [])
        bad = [c for c in checks if c.get("status") in ("failed", "error")]
        lines.append(f"{document['result']:>7}  {run.contract_id}: {len(checks)} checks, {len(bad)} failed")
        for check in bad:
            where = ".".join(p for p in (check.get("object"), check.get("property")) if p)
            lines.append(f"           ✗ {where} {check.get('kind')}: {check.get('message')}")
    failing = {run.contract_id for run in runs if run.to_dict()["result"] in ("failed", "error")}
    expected = {"marketing.campaign_responses.responses"}
    return DemoStep("Test every data product against its contract", failing == expected, lines, runs)


def lineage_week(options: DemoOptions) -> DemoStep:
    """Send a week of job runs with the real OpenLineage client to a local server; show the movements."""
    from meshplane.access import Principal, Role
    from meshplane.demo.server import LocalServer
    from meshplane.demo.simulate import simulate_week
    from meshplane.service.derivation import derive_pending
    from meshplane.service.movements import Flag, movements
    from meshplane.service.tokens import create_token

    now = options.now or datetime.now(UTC)
    with demo_registry(options) as registry:
        token = create_token(registry, Principal.local_admin("demo"), role=Role.ADMIN, name="demo lineage").token
        with LocalServer(registry) as server:
            summary = simulate_week(options.work_dir / "mesh", server.url, token, now=now, registry=registry)
        derive_pending(registry)  # what the server's worker had not derived yet when it stopped
        report = movements(registry, since=now - timedelta(days=8))
    lines = summary.lines()
    crossing = [f for f in report.flows if f.from_domain and f.to_domain and f.from_domain != f.to_domain]
    lines.append(f"{len(crossing)} cross-domain flow(s) between products:")
    for flow in sorted(crossing, key=lambda f: (f.from_domain or "", f.to_domain or "", f.to_product or "")):
        flags = f" [flags: {', '.join(flow.flags)}]" if flow.flags else ""
        lines.append(
            f"  {flow.from_domain} → {flow.to_domain}: {flow.from_product}/{flow.port} → {flow.to_product}, "
            f"{len(flow.runs)} runs, {flow.rows or 0:,} rows, agreement {flow.agreement}{flags}"
        )
    flagged = [f for f in crossing if Flag.NO_AGREEMENT.value in f.flags]
    return DemoStep("Inter-domain data movement over a week (OpenLineage)", bool(flagged), lines, report)


STEPS: tuple[Callable[[DemoOptions], DemoStep], ...] = (
    copy_example,
    generate,
    lint,
    apply,
    test_products,
    monitor_and_notify,
    lineage_week,
    plan_breaking_change,
    migrate_side_by_side,
)
"""The demo, in order. Each later capability adds its step here."""


def run_demo(options: DemoOptions) -> Iterator[DemoStep]:
    """Run the demo steps in order, yielding each as it completes."""
    options = DemoOptions(options.work_dir, options.rows, options.seed, options.now or datetime.now(UTC))
    for step in STEPS:
        yield step(options)


def tour(work_dir: Path) -> list[str]:
    """What to try next, as commands to copy: each runs as printed, from any folder, in a POSIX shell."""
    mesh = work_dir / "mesh"
    changed = work_dir / "mesh-change"
    contract = Path("domains/customer/products/profiles/contracts/customers.odcs.yaml")

    def q(path: Path) -> str:
        return shlex.quote(str(path))

    return [
        f"meshplane lint {q(mesh)}",
        f"meshplane test marketing.campaign_responses --mesh {q(mesh)}",
        f"meshplane test --all --mesh {q(mesh)} --format junit --output report.xml",
        f"meshplane lint {q(mesh / 'domains/retail/products/sales/product.odps.yaml')}",
        f"meshplane plan {q(changed)}",
        f"meshplane impact customer.profiles.customers --mesh {q(mesh)}",
        f"meshplane migrations --mesh {q(mesh)}",
        f"meshplane diff {q(mesh / contract)} {q(changed / contract)}",
        f"meshplane movements --mesh {q(mesh)}",
        f"meshplane lineage retail.sales --downstream --mesh {q(mesh)}",
        f"meshplane new product retail returns --mesh {q(mesh)}",
    ]
