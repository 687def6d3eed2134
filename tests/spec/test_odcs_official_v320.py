"""The official ODCS v3.2.0 examples (Bitol) are read as v3.2.0 and lint without errors.

`files/odcs-official-v3.2/` holds every example of `bitol-io/open-data-contract-standard`
(`docs/examples/<folder>/<name>.odcs.yaml`, stored as `<folder>-<name>.odcs.yaml`) of which a
v3.2.0 version was found, copied unedited; its README names each file's source path and commit.
They are test data kept inside the repository, independent of `../shared/standards/`.

Every one of them validates against the vendored v3.2.0 schema and lints without an error. Two use
what v3.2.0 adds and meshplane had to learn: `fundamentals-variables` (RFC 0050 variables in a SQL
rule: parsed with placeholders, a `quality-sql-variables` warning) and `tags-tags` (an
`invalidValues` rule without arguments on a property with an `enum`: the enum's values are the valid
ones).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meshplane.diagnostics import Severity
from meshplane.service.linting import lint_path
from meshplane.spec.loader import FileKind, load_contract
from meshplane.spec.odcs import Contract

FILES = Path(__file__).parent / "files" / "odcs-official-v3.2"
EXAMPLES = sorted(FILES.glob("*.odcs.yaml"))


def test_the_official_v320_examples_are_all_here_and_listed_in_the_readme() -> None:
    assert len(EXAMPLES) == 14
    readme = (FILES / "README.md").read_text(encoding="utf-8")
    for path in EXAMPLES:
        assert f"`{path.name}`" in readme


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_an_official_v320_example_is_read_as_v320_without_diagnostics(path: Path) -> None:
    loaded = load_contract(path)
    assert loaded.ok and loaded.diagnostics == [], [str(d) for d in loaded.diagnostics]
    assert loaded.kind is FileKind.CONTRACT
    assert isinstance(loaded.model, Contract)
    assert loaded.model.api_version == "v3.2.0"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_an_official_v320_example_lints_without_errors(path: Path) -> None:
    report = lint_path(path)
    assert (report.mode, report.files) == ("file", 1)
    errors = [str(d) for d in report.diagnostics if d.severity is Severity.ERROR]
    assert errors == []
    assert not report.has_errors


def test_the_variables_example_is_warned_about_its_variables_without_a_default() -> None:
    report = lint_path(FILES / "fundamentals-variables.odcs.yaml")
    [warning] = [d for d in report.diagnostics if d.code == "quality-sql-variables"]
    assert warning.severity is Severity.WARNING
    assert "${TARGET_TABLE}, ${CUTOFF_DATE}" in warning.message
