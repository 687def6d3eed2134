"""Lint errors for what `meshplane test` would refuse to run: the contract's own mistakes, not the data's.

Every check a contract declares is compiled by the check kinds (`meshplane.checks.kinds`) before it
runs; a check whose declaration is wrong comes out of that compilation with a `problem`, and a run
reports it as an ``error``. Lint asks the same check kinds, rule by rule, so it finds the same
problems first, each at its line:

* `sla-without-element`: a freshness, latency or retention SLA with no `element` and no
  `slaDefaultElement`, so no column to measure;
* `sla-element-unresolved`: an SLA element naming no schema object (a warning for a standalone file);
* `sla-value-invalid`: an SLA value or unit that is no duration (an unknown unit);
* `duplicate-property-name`: two properties with one name in one object (or one parent);
* `quality-rule-invalid`: a quality rule a check kind cannot run as written (unknown metric,
  unsupported unit, bad threshold, a SQL rule without `query`, no operator);
* `quality-metric-arguments`: a library metric missing what it needs (`invalidValues` without
  `validValues` or `pattern`, a value metric not under a property);
* `quality-sql-variables` (warning): a SQL rule using ODCS v3.2.0 variables without a default;
* `quality-sql-invalid`: a SQL rule that does not parse (a malformed variable reference too), or is
  not one read-only query, in the dialect of the engine serving the contract's servers.

`CONTRACT_LEVEL_ERRORS` maps each spec type whose compilation can carry a `problem` to the lint
rule that reports it (tests/mesh/test_checkable.py holds every check kind to it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from meshplane.checks.compiler import PropertyScope, RuleScope
from meshplane.checks.kinds.library import METRIC_ALIASES, MetricSpec
from meshplane.checks.kinds.relationships import RelationshipSpec
from meshplane.checks.kinds.sla import CHECKED, SlaSpec, resolve_element
from meshplane.checks.kinds.sql_rule import SqlRuleSpec
from meshplane.checks.model import CheckSpec
from meshplane.checks.registry import check_types
from meshplane.checks.sqltext import PLACEHOLDERS, RuleSqlError, parse_read_only, substitute
from meshplane.diagnostics import Diagnostic, JsonPath, Severity
from meshplane.engines.registry import engines_serving
from meshplane.spec.durations import parse_duration
from meshplane.spec.odcs import Contract, DataQuality, SchemaObject, SchemaProperty
from meshplane.spec.variables import MalformedReference, expand, has_variables, malformed, unresolved
from meshplane.spec.yamlsource import YamlDocument

CONTRACT_LEVEL_ERRORS: dict[type[CheckSpec], tuple[str, ...]] = {
    SlaSpec: ("sla-without-element", "sla-element-unresolved", "sla-value-invalid"),
    MetricSpec: ("quality-rule-invalid", "quality-metric-arguments"),
    SqlRuleSpec: ("quality-rule-invalid", "quality-sql-invalid"),
    RelationshipSpec: ("unresolved-relationship",),
}
"""Spec types that can carry a contract-level `problem`, and the lint rules that find it first."""

VALUE_METRICS = ("nullValues", "missingValues", "invalidValues")
"""Library metrics that count values of one column: they need to sit under a property."""


@dataclass(frozen=True)
class _Site:
    doc: YamlDocument | None
    file: str
    reference_severity: Severity = Severity.ERROR
    variables: bool = True
    """Whether the document's version has variables (ODCS v3.2.0+): else ``${...}`` is text."""

    def error(self, path: JsonPath, message: str, code: str, severity: Severity = Severity.ERROR) -> Diagnostic:
        if self.doc is not None:
            return self.doc.diagnostic(path, message, code=code, severity=severity)
        return Diagnostic(severity, code, message, self.file)


def _sla_problems(contract: Contract, site: _Site) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for index, sla in enumerate(contract.sla_properties or []):
        path: JsonPath = ("slaProperties", index)
        if sla.property.lower() not in CHECKED:
            continue
        try:
            parse_duration(sla.value, sla.unit)
        except ValueError as exc:
            field = "unit" if "unknown duration unit" in str(exc) else "value"
            out.append(site.error((*path, field), f"SLA '{sla.property}': {exc}", "sla-value-invalid"))
            continue
        element = sla.element or contract.sla_default_element
        elements = [e.strip() for e in (element or "").split(",") if e.strip()]
        if not elements:
            out.append(
                site.error(
                    path,
                    f"SLA '{sla.property}' has no element (and the contract no slaDefaultElement): "
                    "no column says what to measure",
                    "sla-without-element",
                )
            )
        for name in elements:
            resolved = resolve_element(contract, name)
            if isinstance(resolved, str):
                where = (*path, "element") if sla.element else ("slaDefaultElement",)
                message = f"SLA '{sla.property}': {resolved}"
                out.append(site.error(where, message, "sla-element-unresolved", site.reference_severity))
    return out


def _rule_sites(
    contract: Contract,
) -> Iterator[tuple[JsonPath, SchemaObject, PropertyScope | None, list[SchemaProperty], list[DataQuality]]]:
    for oi, obj in enumerate(contract.objects):
        yield ("schema", oi), obj, None, list(obj.properties or []), list(obj.quality or [])
        stack: list[tuple[JsonPath, SchemaProperty, str, tuple[str, ...]]] = [
            (("schema", oi, "properties", pi), prop, prop.name or prop.column, (prop.column,))
            for pi, prop in enumerate(obj.properties or [])
        ]
        while stack:
            path, prop, logical, column = stack.pop(0)
            children = list(prop.properties or [])
            yield path, obj, PropertyScope(contract, obj, prop, logical, column), children, list(prop.quality or [])
            stack += [
                ((*path, "properties", ci), child, f"{logical}.{child.name or child.column}", (*column, child.column))
                for ci, child in enumerate(children)
            ]


def _duplicate_names(path: JsonPath, children: list[SchemaProperty], site: _Site) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen: dict[str, int] = {}
    for index, child in enumerate(children):
        if not child.name:
            continue
        key = child.name.lower()
        if key in seen:
            out.append(
                site.error(
                    (*path, "properties", index, "name"),
                    f"property name '{child.name}' is used twice in one object (first at position {seen[key] + 1})",
                    "duplicate-property-name",
                )
            )
        else:
            seen[key] = index
    return out


def _dialects(contract: Contract) -> list[str]:
    """The SQL dialects of the engines that would run the contract's rules (one per server, deduplicated)."""
    found: list[str] = []
    for server in contract.servers or []:
        engines = engines_serving(server)
        if engines and engines[0].dialect not in found:
            found.append(engines[0].dialect)
    return found


def _claimed(scope: RuleScope) -> list[CheckSpec]:
    for check_type in check_types():
        specs = check_type.for_rule(scope)
        if specs is not None:
            return specs
    return []


def _rule_problems(
    spec: CheckSpec, scope: RuleScope, path: JsonPath, dialects: list[str], site: _Site
) -> list[Diagnostic]:
    problem = getattr(spec, "problem", None)
    if problem:
        return [site.error(path, f"quality rule cannot run: {problem}", "quality-rule-invalid")]
    if isinstance(spec, SqlRuleSpec):
        if spec.threshold is None:
            return [site.error(path, "SQL rule sets no operator (mustBe, mustBeLessThan, ...)", "quality-rule-invalid")]
        column = '"column"' if spec.column is not None else None
        text = spec.query
        if site.variables and (bad := malformed(spec.query)):
            message = str(MalformedReference(bad))
            return [site.error((*path, "query"), f"SQL rule: {message}", "quality-sql-invalid")]
        for dialect in dialects:
            try:
                text = substitute(spec.query, '"dataset"', column)
                # ODCS v3.2.0 variables: parsed with their default, else as a quoted name (values come at test time)
                parse_read_only(expand(text, {}, unset=lambda name: f'"{name}"') if site.variables else text, dialect)
            except RuleSqlError as exc:
                return [site.error((*path, "query"), f"SQL rule ({dialect}): {exc}", "quality-sql-invalid")]
        if site.variables and (names := unresolved(text, {}, PLACEHOLDERS)):
            listed = ", ".join(f"${{{name}}}" for name in names)
            message = (
                f"the SQL rule uses {listed} (ODCS v3.2.0 variables) without a default: `meshplane test` reads them "
                "from its environment (a server's worker: those MESHPLANE_CONTRACT_VARIABLES names); unset, the "
                "rule is an error"
            )
            return [site.error((*path, "query"), message, "quality-sql-variables", Severity.WARNING)]
    if isinstance(spec, MetricSpec):
        metric = METRIC_ALIASES.get(spec.metric, spec.metric)
        if metric in VALUE_METRICS and scope.prop is None:
            return [
                site.error(
                    path,
                    f"metric {metric} counts values of one column: put the rule under a property",
                    "quality-metric-arguments",
                )
            ]
        if (
            metric == "invalidValues"
            and spec.arguments.get("validValues") is None
            and not spec.arguments.get("pattern")
        ):
            return [
                site.error(
                    path,
                    "metric invalidValues needs arguments.validValues and/or arguments.pattern"
                    " (or an enum on its property)",
                    "quality-metric-arguments",
                )
            ]
    return []


def check_runnable(
    contract: Contract, doc: YamlDocument | None, file: str, reference_severity: Severity = Severity.ERROR
) -> list[Diagnostic]:
    """The errors `meshplane test` would report for the contract itself, at their lines.

    `reference_severity` is that of an SLA element naming no object: a warning for a standalone
    file, which may be an excerpt whose references point elsewhere (as `check_references`).
    """
    site = _Site(doc, file, reference_severity, has_variables(contract.api_version))
    out = _sla_problems(contract, site)
    dialects = _dialects(contract)
    for path, obj, pscope, children, rules in _rule_sites(contract):
        out += _duplicate_names(path, children, site)
        for index, rule in enumerate(rules):
            scope = RuleScope(contract, obj, pscope, rule, index)
            rule_path: JsonPath = (*path, "quality", index)
            for spec in _claimed(scope):
                found = _rule_problems(spec, scope, rule_path, dialects, site)
                if found:
                    out += found
                    break
    return out
