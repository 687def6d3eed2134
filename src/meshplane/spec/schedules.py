"""Schedules of monitoring: a cron expression or an interval, one reader for every place that names one.

A schedule is written as

* a five-field cron expression (``0 * * * *``, ``*/15 6-18 * * 1-5``) or one of cron's names
  (``@hourly``, ``@daily``, ``@weekly``, ``@monthly``, ``@yearly``), read by `croniter`, in UTC;
* an interval: a duration as `meshplane.spec.durations` reads it (``1h``, ``30 min``, ``PT6H``,
  ``1`` + unit ``d`` in an SLA property).

Nothing runs more often than once a minute: an interval under 60 s and a cron expression with a
seconds field (six fields) are refused with a message saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter  # type: ignore[import-untyped]

from meshplane.spec.durations import DurationError, read_duration
from meshplane.spec.odcs import Contract

MINIMUM_SECONDS = 60
"""The shortest schedule: once a minute."""

_CRON_NAMES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


class ScheduleError(ValueError):
    """A value that is not a schedule; the message says why, for the user."""


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: exactly one of `cron` and `interval_s` is set."""

    text: str
    """As written (an interval with a separate unit is joined: ``1 d``)."""
    cron: str | None = None
    interval_s: int | None = None

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after `moment` (UTC) the schedule fires."""
        moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        if self.interval_s is not None:
            return moment + timedelta(seconds=self.interval_s)
        assert self.cron is not None
        value: datetime = croniter(self.cron, moment.astimezone(UTC)).get_next(datetime)
        return value.astimezone(UTC)

    def to_dict(self) -> dict[str, Any]:
        """The schedule as the API and `monitor status --format json` show it."""
        return {"text": self.text, "cron": self.cron, "intervalSeconds": self.interval_s}


def _looks_like_cron(text: str) -> bool:
    return text.startswith("@") or len(text.split()) >= 5


def parse_schedule(value: Any, unit: str | None = None) -> Schedule:
    """A `Schedule` from a cron expression or an interval; `ScheduleError` saying why otherwise."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise ScheduleError(
            f"not a schedule: {value!r} (a cron expression such as '0 * * * *', or an interval such as 1h)"
        )
    text = " ".join(str(value).split())
    if unit is None and isinstance(value, str) and _looks_like_cron(text):
        return _cron(text)
    try:
        seconds = read_duration(value, unit)
    except DurationError as exc:
        raise ScheduleError(
            f"not a schedule: {exc} (or give a five-field cron expression such as '0 * * * *')"
        ) from None
    shown = f"{text} {unit}" if unit else text
    if seconds < MINIMUM_SECONDS:
        raise ScheduleError(f"schedule '{shown}' is shorter than 1 minute (the shortest schedule is 1m)")
    return Schedule(shown, interval_s=int(seconds))


def _cron(text: str) -> Schedule:
    if text.startswith("@"):
        if text.lower() not in _CRON_NAMES:
            raise ScheduleError(f"unknown cron name '{text}' (known: {', '.join(_CRON_NAMES)})")
        return Schedule(text, cron=text.lower())
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"cron expression '{text}' has {len(fields)} fields: meshplane reads five (minute hour day month weekday); "
            "a seconds field would run more often than once a minute"
        )
    if not croniter.is_valid(text):
        raise ScheduleError(
            f"invalid cron expression '{text}' (five fields: minute hour day-of-month month day-of-week)"
        )
    try:  # is_valid accepts some expressions that never fire (31 February)
        croniter(text, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except Exception as exc:  # croniter raises its own kinds for impossible dates
        raise ScheduleError(f"cron expression '{text}' never fires: {exc}") from None
    return Schedule(text, cron=text)


SCHEDULE_PROPERTY = "monitoringSchedule"
"""The contract custom property (``customProperties``) naming its schedule; it wins over the SLA ``frequency``."""
FREQUENCY_SLA = "frequency"


@dataclass(frozen=True)
class DeclaredSchedule:
    """A schedule as a contract or mesh.yaml writes it, with where (`path` in its file, `origin`)."""

    value: Any
    unit: str | None
    path: tuple[str | int, ...]
    origin: str
    """``contract:customProperty``, ``contract:sla``, ``mesh:engine``, ``mesh``."""

    def parse(self) -> Schedule:
        """The schedule; `ScheduleError` when it is not one."""
        return parse_schedule(self.value, self.unit)


def contract_schedule(contract: Contract) -> DeclaredSchedule | None:
    """The schedule a contract declares for itself: custom property `monitoringSchedule`, else SLA `frequency`."""
    for index, prop in enumerate(contract.custom_properties or []):
        if prop.property == SCHEDULE_PROPERTY:
            return DeclaredSchedule(prop.value, None, ("customProperties", index, "value"), "contract:customProperty")
    for index, sla in enumerate(contract.sla_properties or []):
        if sla.property.lower() == FREQUENCY_SLA:
            return DeclaredSchedule(sla.value, sla.unit, ("slaProperties", index, "value"), "contract:sla")
    return None


def mesh_schedule(monitoring: Any, engine: str | None) -> DeclaredSchedule | None:
    """The mesh's schedule for contracts tested with `engine`: ``monitoring.engines.<engine>``, else ``schedule``.

    `monitoring` is the ``monitoring`` mapping of mesh.yaml's settings (as stored at apply) or None.
    """
    if not isinstance(monitoring, dict):
        return None
    engines = monitoring.get("engines") or {}
    if engine is not None and isinstance(engines, dict) and engines.get(engine):
        return DeclaredSchedule(engines[engine], None, ("monitoring", "engines", engine), "mesh:engine")
    if monitoring.get("schedule"):
        return DeclaredSchedule(monitoring["schedule"], None, ("monitoring", "schedule"), "mesh")
    return None


__all__ = [
    "FREQUENCY_SLA",
    "MINIMUM_SECONDS",
    "SCHEDULE_PROPERTY",
    "DeclaredSchedule",
    "Schedule",
    "ScheduleError",
    "contract_schedule",
    "mesh_schedule",
    "parse_schedule",
]
