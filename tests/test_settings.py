"""Settings come from MESHPLANE_* variables; a bad value is a clear error naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from meshplane.diagnostics import MeshplaneError
from meshplane.settings import Settings, get_settings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "holding"


def test_fields_come_from_the_environment_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHPLANE_SAMPLE_ROWS", "7")
    monkeypatch.setenv("meshplane_anonymous_read", "true")
    monkeypatch.setenv("MESHPLANE_NOT_A_SETTING", "ignored")
    settings = Settings()
    assert settings.sample_rows == 7
    assert settings.anonymous_read is True
    assert Settings(sample_rows=2).sample_rows == 2  # an explicit argument wins


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"MESHPLANE_{name.upper()}", raising=False)
    settings = Settings()
    assert settings.sample_rows == 5
    assert settings.database_url is None
    assert settings.spark_master == "local[*]"


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("MESHPLANE_SAMPLE_ROWS", "abc", "valid integer"),
        ("MESHPLANE_SAMPLE_ROWS", "5000", "less than or equal to 1000"),
        ("MESHPLANE_ANONYMOUS_READ", "perhaps", "valid boolean"),
        ("MESHPLANE_MAX_REQUEST_BYTES", "10", "greater than or equal to 1024"),
    ],
)
def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str) -> None:
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(MeshplaneError) as caught:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert f"{variable}='{value}'" in caught.value.message
    assert words in caught.value.message


def test_the_cli_reports_a_bad_setting_without_a_traceback() -> None:
    contract = EXAMPLES / "domains/customer/products/profiles/contracts/customers.odcs.yaml"
    env = {"MESHPLANE_SAMPLE_ROWS": "abc", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-m", "meshplane", "test", str(contract), "--no-record"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 2
    assert "MESHPLANE_SAMPLE_ROWS='abc'" in result.stderr
    assert "Traceback" not in result.stderr
