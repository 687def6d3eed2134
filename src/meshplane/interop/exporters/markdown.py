"""Export Markdown: a page for people — the contract's header, servers, SLA, and per table its
columns (type, required, key, unique, classification, description) and quality rules."""

from __future__ import annotations

from typing import Any

from meshplane.interop import Exported, ExportOptions
from meshplane.interop.contracts import primary_key, tables

FORMAT = "markdown"
DESCRIPTION = "a Markdown page: header, servers, SLA, a table of columns and the quality rules per table"


def cell(value: Any) -> str:
    """A value safe in a Markdown table cell."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _rules(rules: Any) -> list[str]:
    out = []
    for rule in rules or []:
        if isinstance(rule, dict):
            what = rule.get("description") or rule.get("metric") or rule.get("rule") or rule.get("query") or rule
            bound = ", ".join(f"{k} {v}" for k, v in rule.items() if k.startswith("must"))
            out.append(f"{cell(what)}" + (f" ({cell(bound)})" if bound else ""))
    return out


def write(contract: dict[str, Any], options: ExportOptions) -> Exported:
    """The contract as a Markdown page."""
    title = contract.get("name") or contract.get("id")
    purpose = (
        (contract.get("description") or {}).get("purpose") if isinstance(contract.get("description"), dict) else None
    )
    lines = [f"# {cell(title)}", ""]
    lines += [f"`{cell(contract.get('id'))}` version {cell(contract.get('version'))}, {cell(contract.get('status'))}"]
    if contract.get("domain"):
        lines[-1] += f", domain {cell(contract['domain'])}"
    lines.append("")
    if purpose:
        lines += [str(purpose).strip(), ""]
    servers = [s for s in contract.get("servers") or [] if isinstance(s, dict)]
    if servers:
        lines += ["## Servers", "", "| server | type | where |", "|---|---|---|"]
        for s in servers:
            where = (
                s.get("path") or s.get("location") or ".".join(str(s[k]) for k in ("database", "schema") if s.get(k))
            )
            lines.append(f"| {cell(s.get('server'))} | {cell(s.get('type'))} | {cell(where)} |")
        lines.append("")
    sla = [s for s in contract.get("slaProperties") or [] if isinstance(s, dict)]
    if sla:
        lines += ["## SLA", "", "| property | value | element |", "|---|---|---|"]
        for s in sla:
            value = f"{s.get('value')} {s.get('unit') or ''}".strip()
            lines.append(f"| {cell(s.get('property'))} | {cell(value)} | {cell(s.get('element'))} |")
        lines.append("")
    objects = {str(o.get("name")): o for o in contract.get("schema") or [] if isinstance(o, dict)}
    for name, props in tables(contract):
        keys = primary_key(props)
        lines += [f"## {cell(name)}", ""]
        if objects[name].get("description"):
            lines += [str(objects[name]["description"]).strip(), ""]
        lines += [
            "| column | type | required | key | unique | classification | description |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in props:
            typ = p.get("logicalType") or ""
            if p.get("physicalType"):
                typ = f"{typ} (`{p['physicalType']}`)"
            key = str(keys.index(p["name"]) + 1) if p["name"] in keys else ""
            flags = ["yes" if p.get("required") or key else "", key, "yes" if p.get("unique") else ""]
            lines.append(
                f"| {cell(p['name'])} | {cell(typ)} | {' | '.join(flags)} | {cell(p.get('classification'))} | "
                f"{cell(p.get('description'))} |"
            )
        lines.append("")
        rules = _rules(objects[name].get("quality")) + [
            f"{cell(p['name'])}: {r}" for p in props for r in _rules(p.get("quality"))
        ]
        if rules:
            lines += ["Quality rules:", "", *(f"- {r}" for r in rules), ""]
    dropped = [k for k in ("team", "roles", "price", "support", "authoritativeDefinitions") if contract.get(k)]
    return Exported("\n".join(lines).rstrip() + "\n", dropped)
