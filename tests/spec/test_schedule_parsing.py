"""Schedules: cron expressions and intervals, the one-minute floor, where a contract's schedule comes from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from meshplane.spec.odcs import Contract
from meshplane.spec.schedules import ScheduleError, contract_schedule, mesh_schedule, parse_schedule

AT = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("0 * * * *", None, datetime(2026, 1, 1, 11, 0, tzinfo=UTC)),
        ("*/15 * * * *", None, datetime(2026, 1, 1, 10, 45, tzinfo=UTC)),
        ("@daily", None, datetime(2026, 1, 2, 0, 0, tzinfo=UTC)),
        ("1h", None, datetime(2026, 1, 1, 11, 30, tzinfo=UTC)),
        ("PT2H", None, datetime(2026, 1, 1, 12, 30, tzinfo=UTC)),
        (1, "d", datetime(2026, 1, 2, 10, 30, tzinfo=UTC)),
        ("1m", None, datetime(2026, 1, 1, 10, 31, tzinfo=UTC)),
    ],
)
def test_a_schedule_fires_next_after_a_moment(text: object, unit: str | None, expected: datetime) -> None:
    assert parse_schedule(text, unit).next_after(AT) == expected


@pytest.mark.parametrize(
    ("text", "unit", "says"),
    [
        ("30s", None, "shorter than 1 minute"),
        (59, "s", "shorter than 1 minute"),
        ("* * * * * *", None, "6 fields"),
        ("61 * * * *", None, "invalid cron expression"),
        ("0 0 31 2 *", None, "never fires"),
        ("@sometimes", None, "unknown cron name"),
        ("often", None, "not a schedule"),
        ("", None, "not a schedule"),
        (None, None, "not a schedule"),
    ],
)
def test_what_is_not_a_schedule_says_why(text: object, unit: str | None, says: str) -> None:
    with pytest.raises(ScheduleError, match=says):
        parse_schedule(text, unit)


def _contract(**extra: object) -> Contract:
    document = {"apiVersion": "v3.1.0", "kind": "DataContract", "id": "c", "version": "1.0.0", "status": "active"}
    return Contract.model_validate(document | extra, by_alias=True)


def test_the_custom_property_wins_over_the_sla_frequency_which_wins_over_the_mesh() -> None:
    frequency = {"slaProperties": [{"property": "frequency", "value": 6, "unit": "h"}]}
    custom = {"customProperties": [{"property": "monitoringSchedule", "value": "0 3 * * *"}]}
    both = _contract(**frequency, **custom)
    declared = contract_schedule(both)
    assert declared is not None and declared.origin == "contract:customProperty"
    assert declared.path == ("customProperties", 0, "value") and declared.parse().cron == "0 3 * * *"
    sla = contract_schedule(_contract(**frequency))
    assert sla is not None and sla.origin == "contract:sla" and sla.parse().interval_s == 6 * 3600
    assert contract_schedule(_contract()) is None
    monitoring = {"schedule": "1h", "engines": {"spark": "@daily"}}
    spark = mesh_schedule(monitoring, "spark")
    duckdb = mesh_schedule(monitoring, "duckdb")
    assert spark is not None and spark.origin == "mesh:engine" and spark.parse().cron == "@daily"
    assert duckdb is not None and duckdb.origin == "mesh" and duckdb.parse().interval_s == 3600
    assert mesh_schedule({}, "duckdb") is None and mesh_schedule(None, None) is None
