"""The example mesh (examples/holding) is what issue 2 promises: five subsidiaries, at least eight
products, at least four input ports that cross domains, and it lints without errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshplane.diagnostics import Severity
from meshplane.mesh import MeshRepository, load_mesh
from meshplane.service.linting import lint_repository

EXAMPLE_MESH = Path(__file__).resolve().parents[2] / "examples" / "holding"

pytestmark = pytest.mark.skipif(
    not (EXAMPLE_MESH / "mesh.yaml").is_file(),
    reason="examples/holding/mesh.yaml does not exist yet (the example mesh is being written)",
)


@pytest.fixture(scope="module")
def repo() -> MeshRepository:
    return load_mesh(EXAMPLE_MESH)


def test_five_subsidiaries(repo: MeshRepository) -> None:
    assert sorted(d.id for d in repo.domains) == ["customer", "finance", "logistics", "marketing", "retail"]
    assert all(d.model is not None for d in repo.domains)


def test_at_least_eight_products_each_with_a_contract_per_output_port(repo: MeshRepository) -> None:
    products = [p for p in repo.products if p.product is not None]
    assert len(products) >= 8
    for entry in products:
        assert entry.product is not None
        own = {c.contract.id for c in entry.contracts if c.contract}
        ports = entry.product.output_ports or []
        assert ports, f"{entry.file} has no output port"
        assert {p.contract_id for p in ports} <= own


def test_at_least_four_input_ports_cross_domains(repo: MeshRepository) -> None:
    crossing = []
    for entry in repo.products:
        for port in (entry.product.input_ports if entry.product else None) or []:
            provider = repo.contract_by_id(port.contract_id)
            assert provider is not None, f"{entry.file}: input port {port.name} does not resolve"
            if provider.domain != entry.domain:
                crossing.append((entry.domain, provider.domain, port.contract_id))
    assert len(crossing) >= 4, crossing


def test_example_mesh_has_no_errors_and_none_of_the_trust_warnings(repo: MeshRepository) -> None:
    diagnostics = lint_repository(repo)
    errors = [str(d) for d in diagnostics if d.severity is Severity.ERROR]
    assert errors == []
    trust = {"pii-unclassified", "no-freshness-sla", "no-quality-rules", "no-support-channel"}
    assert [str(d) for d in diagnostics if d.code in trust] == []
