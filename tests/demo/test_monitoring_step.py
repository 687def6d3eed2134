"""The demo's monitoring step: a local webhook hears the planted incidents, a break in the orders and its fix."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from meshplane.demo import steps
from meshplane.demo.monitoring import BROKEN_FILE, ORDERS_FOLDER, monitor_and_notify
from meshplane.service.incidents import list_incidents


def test_the_monitoring_step_notifies_consumers_in_other_domains_and_resolves_on_the_fix(tmp_path: Path) -> None:
    options = steps.DemoOptions(tmp_path / "work", rows=200, seed=3, now=datetime.now(UTC))
    for step in (steps.copy_example, steps.generate, steps.apply, steps.test_products):
        assert step(options).ok
    mesh = options.work_dir / "mesh"
    before = {p: p.read_text(encoding="utf-8") for p in (mesh / "domains").glob("*/domain.yaml")}

    done = monitor_and_notify(options)

    assert done.ok, done.lines
    text = "\n".join(done.lines)
    assert "→ webhooks of marketing (provider)" in text  # the planted bad product
    assert (
        "orders.order_id.required (last observed 3) → webhooks of retail (provider), customer, finance, logistics"
        in text
    )
    assert "consumers in other domains: customer.customer360 (customer), finance.ledger (finance)" in text
    assert "resolved #" in text
    heard = {domain for domain, payload in done.detail}  # type: ignore[attr-defined]
    assert heard == {"retail", "customer", "finance", "logistics"}
    # the lake and the domain files are as they were; the orders' incidents are resolved
    assert not (mesh / "lake" / ORDERS_FOLDER / BROKEN_FILE).exists()
    assert {p: p.read_text(encoding="utf-8") for p in before} == before
    with steps.demo_registry(options) as registry:
        assert list_incidents(registry, state="unresolved", contract="retail.sales.orders").total == 0
        assert list_incidents(registry, state="unresolved", contract="marketing.campaign_responses.responses").total
