"""ODCS v3.2.0 variables (RFC 0050): one parser (`meshplane.spec.variables`), resolved by contract tests
in server settings and SQL rules, warned about by lint; and an `invalidValues` rule that takes its valid
values from the property's `enum`."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from meshplane.diagnostics import Severity
from meshplane.service.linting import lint_path
from meshplane.service.testing import run_contract
from meshplane.settings import get_settings
from meshplane.spec.loader import load_contract
from meshplane.spec.odcs import Contract
from meshplane.spec.variables import (
    REFERENCE,
    MalformedReference,
    UnsetVariables,
    expand,
    from_environment,
    has_variables,
    malformed,
    unresolved,
)

MALFORMED = "malformed"

CASES = [
    # text, values, expanded (None: UnsetVariables)
    ("plain", {}, "plain"),
    ("${A}", {"A": "x"}, "x"),
    ("a ${A} b ${B}", {"A": "1", "B": "2"}, "a 1 b 2"),
    ("${A:-d}", {}, "d"),
    ("${A:-d}", {"A": ""}, "d"),  # POSIX :- : the default also for an empty value
    ("${A:-d}", {"A": "v"}, "v"),
    ("${A}", {"A": ""}, ""),
    ("${A:-}", {}, ""),
    ("${A}/${B}", {"A": "x"}, None),
    ("$A {A} $", {}, "$A {A} $"),  # not references
    ("$${A", {}, MALFORMED),  # unclosed
    ("${1A}", {}, MALFORMED),  # a name does not start with a digit
    ("${table} ${A}", {"A": "x"}, "${table} x"),  # kept (meshplane's placeholder)
    ("${A:-${B}}", {"B": "x"}, MALFORMED),  # no nesting: a default holds no `$`, `{` or `}`
    ("${A:-", {}, MALFORMED),
]


@pytest.mark.parametrize(("text", "values", "expanded"), CASES)
def test_expand(text: str, values: dict[str, str], expanded: str | None) -> None:
    if expanded == MALFORMED:
        with pytest.raises(MalformedReference):
            expand(text, values, keep={"table"})
    elif expanded is None:
        with pytest.raises(UnsetVariables) as raised:
            expand(text, values, keep={"table"})
        assert raised.value.names == unresolved(text, values) == ["B"]
        assert "${B}" in str(raised.value)
    else:
        assert expand(text, values, keep={"table"}) == expanded


def test_a_default_never_spans_another_reference() -> None:
    # what keeps reading linear: a scan for a default's closing brace stops at the next `$` or `{`
    # (200 KB of unclosed `${A:-` took minutes when a default could run to the end of the text)
    assert REFERENCE.fullmatch("${A:-x$y}") is None and REFERENCE.fullmatch("${A:-x{y}") is None
    text = "${A:-" * 40_000
    assert unresolved(text, {}) == [] and len(malformed(text)) == 40_000


@pytest.mark.parametrize(
    ("api_version", "expected"),
    [
        ("v3.2.0", True),
        ("v3.3.1", True),
        ("v4.0.0", True),
        ("v3.1.0", False),
        ("v3.0.2", False),
        ("nonsense", False),
    ],
)
def test_only_documents_of_v3_2_and_later_have_variables(api_version: str, expected: bool) -> None:
    assert has_variables(api_version) is expected


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("${A} ${B:-1} $${C} ${object}", []),
        ("x > ${", ["${…"]),
        ("x > ${} AND ${1A:-15}", ["${}", "${1A:-15}"]),
        ("${A-15} ${ A }", ["${A-15}", "${ A }"]),
        ("${A:-${B:-15}}", ["${A:-${B:-15}"]),  # the outer one: no nesting
        ("${GRÖSSE}", ["${GRÖSSE}"]),
    ],
)
def test_malformed_references_are_named(text: str, fragments: list[str]) -> None:
    assert malformed(text) == fragments
    if fragments:
        with pytest.raises(MalformedReference) as raised:
            expand(text, {"A": "1", "B": "2"})
        assert fragments[0] in str(raised.value) and "${NAME:-default}" in str(raised.value)


def test_a_malformed_reference_is_an_error_naming_it_in_lint_and_in_the_test(tmp_path: Path) -> None:
    contract = _contract(tmp_path, "SELECT COUNT(*) FROM ${object} WHERE amount > ${LIMIT:-", "orders.parquet")
    status, message = _results(contract, tmp_path, {})["orders.sql"]
    assert status == "error" and "malformed variable reference '${LIMIT:-" in message
    [error] = [d for d in lint_path(tmp_path / "orders.odcs.yaml").diagnostics if d.severity is Severity.ERROR]
    assert error.code == "quality-sql-invalid" and "malformed variable reference" in error.message and error.line


def test_meshplane_settings_are_never_variables() -> None:
    environ = {"LIMIT": "1", "MESHPLANE_TOKEN": "mp_secret", "meshplane_database_url": "postgresql://x"}
    assert from_environment(environ) == {"LIMIT": "1"}
    assert from_environment(environ, ["MESHPLANE_TOKEN", "LIMIT", "UNSET"]) == {"LIMIT": "1"}


def test_unset_names_can_be_replaced_instead_of_refused() -> None:
    assert expand("FROM ${T} WHERE x > ${N:-3}", {}, unset=lambda n: f'"{n}"') == 'FROM "T" WHERE x > 3'
    assert unresolved("${A} ${A} ${B:-1} ${C}", {}) == ["A", "C"]


def _contract(folder: Path, query: str, path: str) -> Contract:
    pq.write_table(
        pa.table({"order_id": ["o-1", "o-2", "o-3"], "amount": [5.0, 50.0, 500.0], "state": ["open", "paid", "lost"]}),
        folder / "orders.parquet",
    )
    document = {
        "apiVersion": "v3.2.0", "kind": "DataContract", "id": "variables", "version": "1.0.0", "status": "active",
        "servers": [{"server": "local", "type": "local", "path": path, "format": "parquet"}],
        "schema": [{
            "name": "orders",
            "properties": [
                {"name": "order_id", "logicalType": "string"},
                {"name": "amount", "logicalType": "number"},
                {"name": "state", "logicalType": "string", "enum": [{"value": "open"}, {"value": "paid"}],
                 "quality": [{"metric": "invalidValues", "mustBeLessOrEqualTo": 0}]},
            ],
            "quality": [{"type": "sql", "query": query, "mustBeLessOrEqualTo": 1}],
        }],
    }  # fmt: skip
    file = folder / "orders.odcs.yaml"
    file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    loaded = load_contract(file)
    assert isinstance(loaded.model, Contract), loaded.diagnostics
    return loaded.model


def _results(contract: Contract, folder: Path, variables: dict[str, str] | None) -> dict[str, tuple[str, str]]:
    run = run_contract(contract, base_dir=folder, server="local", variables=variables)
    assert run.error is None, run.error
    return {c.spec.id: (c.status.value, c.message or "") for c in run.checks}


QUERY = "SELECT COUNT(*) FROM ${object} WHERE amount > ${LIMIT}"


def test_a_test_resolves_the_variables_of_its_server_and_sql_rules(tmp_path: Path) -> None:
    contract = _contract(tmp_path, QUERY, "${DATA_DIR:-.}/orders.parquet")
    assert _results(contract, tmp_path, {"LIMIT": "100"})["orders.sql"][0] == "passed"  # one row over 100
    assert _results(contract, tmp_path, {"LIMIT": "1"})["orders.sql"][0] == "failed"  # two rows over 1
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "orders.parquet").rename(elsewhere / "orders.parquet")
    assert _results(contract, tmp_path, {"LIMIT": "100", "DATA_DIR": str(elsewhere)})["orders.sql"][0] == "passed"


def test_an_unset_variable_is_an_error_naming_it_and_the_server_default_reads_only_allowed_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract = _contract(tmp_path, QUERY, "orders.parquet")
    status, message = _results(contract, tmp_path, {})["orders.sql"]
    assert status == "error" and "${LIMIT}" in message
    monkeypatch.setenv("LIMIT", "100")
    monkeypatch.delenv("MESHPLANE_CONTRACT_VARIABLES", raising=False)
    get_settings.cache_clear()
    try:
        assert _results(contract, tmp_path, None)["orders.sql"][0] == "error"  # set, but not allowed
        monkeypatch.setenv("MESHPLANE_CONTRACT_VARIABLES", "OTHER, LIMIT")
        get_settings.cache_clear()
        assert _results(contract, tmp_path, None)["orders.sql"][0] == "passed"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_a_test_never_reads_meshplane_settings_as_variables(tmp_path: Path) -> None:
    contract = _contract(
        tmp_path, "SELECT COUNT(*) FROM ${object} WHERE order_id = '${MESHPLANE_TOKEN}'", "orders.parquet"
    )
    status, message = _results(contract, tmp_path, {"MESHPLANE_TOKEN": "mp_secret"})["orders.sql"]
    assert status == "error" and "${MESHPLANE_TOKEN}" in message and "mp_secret" not in message


def test_a_v3_1_contract_has_no_variables(tmp_path: Path) -> None:
    contract = _contract(tmp_path, "SELECT COUNT(*) FROM ${object} WHERE order_id = '${LIMIT}'", "orders.parquet")
    contract = contract.model_copy(update={"api_version": "v3.1.0"})
    assert _results(contract, tmp_path, {})["orders.sql"][0] == "passed"  # the text '${LIMIT}': no row has it


def test_an_unset_variable_in_a_server_setting_ends_the_run_naming_it(tmp_path: Path) -> None:
    contract = _contract(tmp_path, QUERY, "${DATA_DIR}/orders.parquet")
    run = run_contract(contract, base_dir=tmp_path, server="local", variables={"LIMIT": "1"})
    assert run.error is not None and "server 'local', path" in run.error and "${DATA_DIR}" in run.error


def test_lint_parses_a_rule_with_variables_and_warns_about_those_without_a_default(tmp_path: Path) -> None:
    _contract(tmp_path, "SELECT COUNT(*) FROM ${TARGET:-orders} WHERE amount > ${LIMIT}", "orders.parquet")
    report = lint_path(tmp_path / "orders.odcs.yaml")
    assert not report.has_errors, [str(d) for d in report.diagnostics]
    [warning] = [d for d in report.diagnostics if d.code == "quality-sql-variables"]
    assert warning.severity is Severity.WARNING and "${LIMIT}" in warning.message and "TARGET" not in warning.message


def test_invalid_values_without_arguments_takes_the_property_enum(tmp_path: Path) -> None:
    contract = _contract(tmp_path, QUERY, "orders.parquet")
    results = _results(contract, tmp_path, {"LIMIT": "100"})
    assert results["orders.state.invalidValues"] == (
        "failed",
        "invalid values: 1, outside <= 0",
    )  # 'lost' is not in the enum
    assert results["orders.state.enum"] == ("failed", "1 value(s) not listed")
