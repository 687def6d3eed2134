"""SQL quality rules (``type: sql``): a query returning one value, compared with the rule's operator.

The query is written in the server's dialect. Placeholders name the dataset and the property (see
`checks.sqltext`); only a single read-only SELECT runs. A query that is one aggregate over the
object (``SELECT COUNT(*) FROM {object} WHERE ...``) is folded into the object's single scan;
any other query runs on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from meshplane.checks.model import CheckSpec, Outcome
from meshplane.checks.operators import Threshold, threshold_of
from meshplane.checks.plan import Aggregates, Immediate, ObjectTarget, OwnQuery, Plan
from meshplane.checks.registry import CheckType
from meshplane.checks.samples import MASK, masked_columns
from meshplane.checks.sqltext import RuleSqlError, fold_into_scan, gate_refusal, parse_read_only, substitute
from meshplane.engines.base import QueryResult

if TYPE_CHECKING:
    from meshplane.checks.compiler import RuleScope


@dataclass(frozen=True, kw_only=True)
class SqlRuleSpec(CheckSpec):
    """A SQL rule: its query text and threshold."""

    query: str
    threshold: Threshold | None
    column: tuple[str, ...] | None = None
    problem: str | None = None


def _judge_value(spec: SqlRuleSpec, value: Any, masked: bool = False) -> Outcome:
    threshold = spec.threshold
    shown = MASK if masked and value is not None else value
    if threshold is None:
        return Outcome.error("the rule sets no operator (mustBe, mustBeLessThan, ...)", shown)
    ok = threshold.holds(value)
    verdict = "satisfies" if ok else "breaks"
    said = f"query returned {shown!r}" + (" (it reads a classified column)" if masked and value is not None else "")
    return Outcome.judged(ok, shown, str(threshold), f"{said}, {verdict} {threshold}",
                          f"{said}, {verdict} {threshold}")  # fmt: skip


def _reveals_classified(query: exp.Query, target: ObjectTarget, column: tuple[str, ...] | None) -> bool:
    """Whether the rule's value may be a classified column's value (masked like samples).

    A count reveals no value: a rule whose result is ``COUNT(...)`` is shown as is.
    """
    masked = masked_columns(target.schema_object)
    if not masked:
        return False
    projection = query.selects[0] if query.selects else None
    if isinstance(projection, exp.Alias):
        projection = projection.this
    if isinstance(projection, exp.Count | exp.CountIf):
        return False
    if column is not None and column[0].lower() in masked:
        return True
    if any(isinstance(node, exp.Star) for node in query.walk()):
        return True
    return any(c.name.lower() in masked for c in query.find_all(exp.Column))


class SqlRuleCheck(CheckType):
    """Runs SQL rules, folded into the scan when they are a plain aggregate over the object."""

    order: ClassVar[int] = 70
    spec_types = (SqlRuleSpec,)

    def for_rule(self, scope: RuleScope) -> list[CheckSpec] | None:
        rule = scope.rule
        if rule.kind != "sql":
            return None
        problem = None if rule.query else "a sql rule needs a `query`"
        try:
            threshold = threshold_of(rule.operator(), rule.unit)
        except ValueError as exc:
            threshold, problem = None, str(exc)
        return [
            SqlRuleSpec(
                **scope.common("sql"),
                query=rule.query or "",
                threshold=threshold,
                column=scope.prop.column if scope.prop else None,
                problem=problem,
            )
        ]

    def plan(self, spec: CheckSpec, target: ObjectTarget) -> Plan:
        assert isinstance(spec, SqlRuleSpec)
        if spec.problem:
            return Immediate(Outcome.error(spec.problem))
        engine = target.engine
        column_sql = engine.render(target.column(spec.column)) if spec.column else None
        # what a rule reads (CSV: the typed view, without the scan's text columns)
        table = target.dataset.query_ref or target.table
        try:
            text = substitute(spec.query, engine.table_sql(table), column_sql)
            query = parse_read_only(text, engine.dialect)
        except RuleSqlError as exc:
            return Immediate(Outcome.error(f"refused: {exc}"))
        refusal = gate_refusal(query, table, engine.denied_functions, engine.denied_relations)
        if refusal is not None:
            return Immediate(Outcome.error(f"refused: {refusal}"))
        obj = target.schema_object
        names = {obj.name.lower(), obj.table.lower(), target.table.name.lower(), table.name.lower()}
        masked = _reveals_classified(query, target, spec.column)
        folded = fold_into_scan(query, target.table, names)
        if folded is not None:
            return Aggregates(
                {"value": folded}, lambda values: _judge_value(spec, values["value"], masked), sensitive=masked
            )

        def judge(result: QueryResult) -> Outcome:
            if len(result.columns) != 1 or len(result.rows) > 1:
                shape = f"{len(result.rows)} row(s) of {len(result.columns)} column(s)"
                return Outcome.error(f"a SQL rule must return one value; got {shape}")
            return _judge_value(spec, result.rows[0][0] if result.rows else None, masked)

        return OwnQuery(query, judge, sensitive=masked)


CHECK_TYPE = SqlRuleCheck()
