"""The demo use case: a working copy of the example mesh, its lake, and a tour of meshplane.

`meshplane demo` copies `examples/holding` into a working folder, generates its lake
deterministically, and then runs the platform's main jobs on it, step by step. Each step is a
function returning a `DemoStep`; the CLI only presents them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from meshplane.diagnostics import MeshplaneError
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


STEPS: tuple[Callable[[DemoOptions], DemoStep], ...] = (copy_example, generate, lint)
"""The demo, in order. Each later capability adds its step here."""


def run_demo(options: DemoOptions) -> Iterator[DemoStep]:
    """Run the demo steps in order, yielding each as it completes."""
    options = DemoOptions(options.work_dir, options.rows, options.seed, options.now or datetime.now(UTC))
    for step in STEPS:
        yield step(options)


def tour(work_dir: Path) -> list[str]:
    """What to try next, as commands to copy."""
    mesh = work_dir / "mesh"
    return [
        f"meshplane lint {mesh}",
        f"meshplane lint {mesh}/domains/retail/products/sales/product.odps.yaml",
        f"meshplane new product retail returns --mesh {mesh}",
    ]
