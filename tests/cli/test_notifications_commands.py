"""`meshplane incidents show` lists the incident's blast radius and its notification deliveries."""

from __future__ import annotations

import json
from pathlib import Path

from test_incidents_commands import invoke, mesh  # noqa: F401  (the fixture)

from meshplane.service.notifications import fan_out, send_due
from meshplane.service.registries import open_mesh_registry


def test_show_lists_the_blast_radius_and_the_deliveries(mesh: Path) -> None:  # noqa: F811
    domain = mesh / "domains/finance/domain.yaml"
    text = domain.read_text(encoding="utf-8")
    domain.write_text(text + "notifications:\n  - name: fin\n    webhook: http://127.0.0.1:9/hook\n", encoding="utf-8")
    applied = invoke("apply", str(mesh), "--yes")
    assert applied.exit_code == 0, applied.output
    assert "finance" in applied.output  # the domain change goes through plan/apply
    with open_mesh_registry(mesh) as registry:
        fan_out(registry, "tests")
        send_due(registry, "tests")  # port 9: nothing listens, the attempt fails and waits for its retry
    shown = invoke("incidents", "show", "1", "--mesh", str(mesh))
    assert shown.exit_code == 0, shown.output
    assert "blast radius: " in shown.output and "finance.ledger (finance, team" in shown.output
    assert "known by inputPort" in shown.output
    assert "opened → finance/fin (webhook, consumer) pending after 1 attempt(s): ConnectError" in shown.output
    data = json.loads(invoke("incidents", "show", "1", "--mesh", str(mesh), "--format", "json").output)
    assert data["deliveries"][0]["state"] == "pending" and data["deliveries"][0]["lastError"]
    assert {c["domain"] for c in data["blastRadius"]} >= {"finance", "logistics", "customer"}
