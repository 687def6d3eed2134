"""Lineage attribution bound to the sender: what a token's events may say, and about which domain.

The receiver stores who posted each event (`meshplane.registry.lineage.Sender`: the token's actor,
role and, for a maintainer, its domain). Derivation (`meshplane.service.derivation`) asks this
module what a sender may claim:

* **A maintainer's token of domain D creates runs of D only.** Its events are attributed to D
  (rule ``sender``, stronger than every rule of `meshplane.lineage.attribute_job`); when the rules
  would say another domain E, the run is stored attributed to D and flagged ``sender-mismatch``
  naming both.
* **Evidence about a port comes from its own domain, or from a trusted sender.** An output (or a
  DatasetEvent's dataset) of a port of domain E reported by a maintainer of D ≠ E is neither a
  foreign write nor schema drift of E's port: its schema is not compared, and the dataset is
  flagged ``sender-mismatch`` instead.
* **Trusted senders** — `lineage-writer` tokens (a shared Airflow, Spark or dbt runner, created by
  an admin), admins, and events stored by a local operator — send for any domain: their runs are
  attributed by the rules, and their writes and schemas are evidence about any port.
"""

from __future__ import annotations

from meshplane.lineage import Attribution
from meshplane.registry.lineage import Sender

SENDER_RULE = "sender"
"""The attribution rule of a run bound to its sender's domain (`meshplane.registry.lineage.RANKS`)."""


def bind_attribution(
    rules: Attribution | None, sender: Sender | None
) -> tuple[tuple[str, str, str] | None, str | None]:
    """The attribution to store for an event (domain, rule, detail), and its sender mismatch (or None).

    `rules` is what `attribute_job` says; a maintainer's token overrides it with its own domain.
    """
    said = (rules.domain, rules.rule.value, rules.detail) if rules is not None else None
    if sender is None or sender.bound is None:
        return said, None
    domain = sender.bound
    if said is not None and rules is not None and rules.domain == domain:
        return said, None  # the rules agree with the sender: keep the rule that says why
    mismatch = None
    if rules is not None:
        why = f"{rules.rule.value}: {rules.detail}" if rules.detail else rules.rule.value
        mismatch = (
            f"sent by {sender.received_by}, a maintainer of {domain}; the rules attribute the job to "
            f"{rules.domain} ({why}): attributed to {domain}"
        )
    return (domain, SENDER_RULE, f"sent by {sender.received_by}"), mismatch


def foreign_run(run_domain: str | None, sender: Sender | None) -> str | None:
    """Why an event of a run (or job) already stored as `run_domain`'s is not merged into it: its sender is a
    maintainer of another domain, who may report its own runs only; None: it is merged. (A run another domain's
    maintainer bound against the rules is reclaimed by the maintainers of the domain the rules name: derivation.)"""
    if sender is None or sender.bound is None or run_domain is None or run_domain == sender.bound:
        return None
    return (
        f"an event of this run was sent by {sender.received_by}, a maintainer of {sender.bound}; the run is "
        f"{run_domain}'s: the event was not merged"
    )


def port_evidence_mismatch(
    sender: Sender | None, port_domain: str | None, product: str, port: str, *, reported: str = "written"
) -> str | None:
    """Why `sender` may not give evidence (a write, a schema, test results) about `product`/`port` of `port_domain`;
    None: it may. `reported`: what the evidence says was done to the port (``written``, ``tested``)."""
    if sender is None or sender.bound is None or port_domain is None or port_domain == sender.bound:
        return None
    return (
        f"{product}/{port} (domain {port_domain}) reported as {reported} by {sender.received_by}, a maintainer of "
        f"{sender.bound}: not evidence about another domain's port"
    )


__all__ = ["SENDER_RULE", "bind_attribution", "foreign_run", "port_evidence_mismatch"]
