"""Lint catches what `meshplane test` would refuse to run: every check kind's contract-level error has a lint rule."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from meshplane.checks.compiler import compile_contract
from meshplane.checks.registry import check_types
from meshplane.diagnostics import Severity
from meshplane.mesh.checkable import CONTRACT_LEVEL_ERRORS, check_runnable
from meshplane.spec.loader import load_contract

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _corpus_codes() -> set[str]:
    cases = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))["cases"]
    return {e["code"] for case in cases for e in case["expect"]}


def test_every_check_kind_that_can_refuse_a_contract_has_lint_rules() -> None:
    refusing = {
        spec_type
        for check_type in check_types()
        for spec_type in check_type.spec_types
        if "problem" in {f.name for f in dataclasses.fields(spec_type)}
    }
    assert refusing, "no check kind declares a problem field: the walk found nothing"
    assert refusing == set(CONTRACT_LEVEL_ERRORS), "a check kind can refuse a contract that lint does not check"


def test_every_lint_rule_for_a_refused_contract_has_a_corpus_case() -> None:
    missing = {code for codes in CONTRACT_LEVEL_ERRORS.values() for code in codes} - _corpus_codes()
    assert missing == {"sla-element-unresolved"}  # a warning in a standalone file: tested below


def test_an_sla_element_naming_no_object_is_an_error_in_a_mesh_and_a_warning_alone() -> None:
    path = Path(__file__).resolve().parent / "files" / "sla-element-names-no-object.odcs.yaml"
    loaded = load_contract(path)
    assert loaded.model is not None and len(loaded.model.objects) == 2
    found = check_runnable(loaded.model, loaded.document, path.name)
    assert [(d.code, d.severity, d.line, d.path) for d in found] == [
        ("sla-element-unresolved", Severity.ERROR, 42, "$.slaProperties[0].element")
    ]
    alone = check_runnable(loaded.model, loaded.document, path.name, Severity.WARNING)
    assert [d.severity for d in alone] == [Severity.WARNING]


def test_what_the_compiler_refuses_lint_reports_at_the_same_place() -> None:
    """For each corpus contract the check compiler refuses, lint has an error on it too."""
    refused = 0
    for path in sorted((CORPUS / "files" / "contracts").glob("checkable-*.odcs.yaml")):
        loaded = load_contract(path)
        assert loaded.model is not None, path
        problems = [s for s in compile_contract(loaded.model) if getattr(s, "problem", None)]
        errors = check_runnable(loaded.model, loaded.document, str(path))
        assert errors, f"{path.name}: lint reports nothing"
        if problems and getattr(problems[0], "checkable", True):
            refused += 1
    assert refused >= 5


def test_a_clean_contract_has_no_runnable_errors() -> None:
    path = CORPUS / "meshes/_base/domains/sales/products/orders/contracts/orders.odcs.yaml"
    loaded = load_contract(path)
    assert loaded.model is not None
    assert check_runnable(loaded.model, loaded.document, str(path)) == []
