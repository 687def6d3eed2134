"""Lake data claimed across domains: a port at or inside another domain's port location is a lint error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meshplane.diagnostics import MeshplaneError
from meshplane.lineage.claims import LINT_CODE, cross_domain_claims
from meshplane.lineage.resolve import PortIndexRow
from meshplane.registry import Registry
from meshplane.service.gitops import apply_mesh
from meshplane.service.linting import lint_path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "holding"
CATALOG = "domains/retail/products/catalog/contracts/products.odcs.yaml"


def _row(domain: str, name: str, port: str = "p") -> PortIndexRow:
    return PortIndexRow("file", name, domain, f"{domain}.x", port, f"{domain}.x.{port}", "1.0.0", "o", "lake")


@pytest.mark.parametrize(
    ("rows", "pairs"),
    [
        ([_row("finance", "/lake/finance/ledger"), _row("retail", "/lake/finance/ledger/data")],
         [("finance", "retail"), ("retail", "finance")]),  # inside: the more specific one takes finance's runs
        ([_row("finance", "/lake/finance/ledger"), _row("retail", "/lake/finance")],
         [("finance", "retail"), ("retail", "finance")]),  # above: it takes finance's other data
        ([_row("finance", "/lake/shared"), _row("retail", "/lake/shared")], [("finance", "retail"), ("retail", "finance")]),
        ([_row("finance", "/lake/finance/a"), _row("finance", "/lake/finance/a/b", "q")], []),  # one domain
        ([_row("finance", "/lake/finance/ledger"), _row("retail", "/lake/finance/ledger2")], []),  # a sibling
    ],
)  # fmt: skip
def test_cross_domain_claims(rows: list[PortIndexRow], pairs: list[tuple[str, str]]) -> None:
    assert sorted((a.domain, b.domain) for a, b in cross_domain_claims(rows)) == sorted(pairs)


def test_a_contract_claiming_another_domains_data_is_refused_by_lint_and_apply(tmp_path: Path) -> None:
    mesh = Path(shutil.copytree(EXAMPLE, tmp_path / "mesh", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    contract = mesh / CATALOG
    text = contract.read_text(encoding="utf-8")
    contract.write_text(
        text.replace("path: retail/catalog/products/*.csv", "path: finance/ledger/ledger_entries/data/*.csv"), "utf-8"
    )
    errors = {Path(str(d.file)).name: d for d in lint_path(mesh).diagnostics if d.code == LINT_CODE}
    assert sorted(errors) == ["ledger_entries.odcs.yaml", "products.odcs.yaml"]  # each side of the overlap
    error = errors["products.odcs.yaml"]
    assert error.line is not None
    lines = contract.read_text(encoding="utf-8").splitlines()
    assert "finance/ledger/ledger_entries/data" in lines[error.line - 1]
    assert "retail.catalog/products inside the data of finance.ledger/ledger_entries (finance:" in error.message
    with Registry(f"sqlite:///{tmp_path / 'r.db'}") as registry, pytest.raises(MeshplaneError):
        apply_mesh(mesh, registry=registry, actor="test")
