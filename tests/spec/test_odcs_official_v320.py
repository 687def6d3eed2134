"""The official ODCS v3.2.0 examples (Bitol) are read as v3.2.0 and lint without errors.

`files/odcs-official-v3.2/` holds every example of `bitol-io/open-data-contract-standard`
(`docs/examples/<folder>/<name>.odcs.yaml`, stored as `<folder>-<name>.odcs.yaml`) of which a
v3.2.0 version was found, copied unedited; its README names each file's source path and commit.
They are test data kept inside the repository, independent of `../shared/standards/`.

Every one of them validates against the vendored v3.2.0 schema. Two lint with an error from
meshplane's own runnability checks (`meshplane.mesh.checkable`), not from the schema or the model:
those cases are marked `xfail(strict=True)` with the error, so that a fix turns them red.
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

LINT_ERRORS = {
    "fundamentals-variables.odcs.yaml": (
        "quality-sql-invalid at $.schema[0].quality[0].query: SQL rule (postgres): cannot parse the query:"
        " Required keyword: 'this' missing for <class 'sqlglot.expressions.core.Parameter'>. Line 1, Col: 23."
        " (the query uses ODCS v3.2.0 RFC-0050 variables ${TARGET_TABLE} and ${CUTOFF_DATE}, not resolved"
        " before parsing); schema-valid"
    ),
    "tags-tags.odcs.yaml": (
        "quality-metric-arguments at $.schema[0].properties[1].quality[0]: metric invalidValues needs"
        " arguments.validValues and/or arguments.pattern (the example gives neither); schema-valid"
    ),
}
"""Examples that lint with an error from meshplane's runnability checks, and that error."""


def _cases() -> list[object]:
    return [
        pytest.param(path, id=path.name, marks=pytest.mark.xfail(strict=True, reason=LINT_ERRORS[path.name]))
        if path.name in LINT_ERRORS
        else pytest.param(path, id=path.name)
        for path in EXAMPLES
    ]


def test_the_official_v320_examples_are_all_here_and_listed_in_the_readme() -> None:
    assert len(EXAMPLES) == 14
    readme = (FILES / "README.md").read_text(encoding="utf-8")
    for path in EXAMPLES:
        assert f"`{path.name}`" in readme
    assert set(LINT_ERRORS) <= {p.name for p in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_an_official_v320_example_is_read_as_v320_without_diagnostics(path: Path) -> None:
    loaded = load_contract(path)
    assert loaded.ok and loaded.diagnostics == [], [str(d) for d in loaded.diagnostics]
    assert loaded.kind is FileKind.CONTRACT
    assert isinstance(loaded.model, Contract)
    assert loaded.model.api_version == "v3.2.0"


@pytest.mark.parametrize("path", _cases())
def test_an_official_v320_example_lints_without_errors(path: Path) -> None:
    report = lint_path(path)
    assert (report.mode, report.files) == ("file", 1)
    errors = [str(d) for d in report.diagnostics if d.severity is Severity.ERROR]
    assert errors == []
    assert not report.has_errors
