"""Lint errors of monitoring schedules: mesh.yaml ``monitoring`` and a contract's own schedule.

An invalid cron expression, an interval that is not a duration, or a schedule shorter than one
minute is an error naming the file and the line (`meshplane lint`); the reader is
`meshplane.spec.schedules`, the same one the worker uses.
"""

from __future__ import annotations

from meshplane.diagnostics import Diagnostic, Severity
from meshplane.spec.loader import LoadedFile
from meshplane.spec.meshfiles import MeshConfig
from meshplane.spec.odcs import Contract
from meshplane.spec.schedules import DeclaredSchedule, ScheduleError, contract_schedule
from meshplane.spec.yamlsource import YamlDocument

CODE = "invalid-schedule"


def _problem(declared: DeclaredSchedule, doc: YamlDocument | None, file: str) -> list[Diagnostic]:
    try:
        declared.parse()
    except ScheduleError as exc:
        if doc is not None:
            return [doc.diagnostic(declared.path, str(exc), code=CODE)]
        return [Diagnostic(Severity.ERROR, CODE, str(exc), file)]
    return []


def check_contract_schedule(contract: Contract, doc: YamlDocument | None, file: str) -> list[Diagnostic]:
    """An error when the contract's own schedule (custom property or SLA ``frequency``) cannot be read."""
    declared = contract_schedule(contract)
    return _problem(declared, doc, file) if declared is not None else []


def check_mesh_schedules(config: LoadedFile[MeshConfig]) -> list[Diagnostic]:
    """Errors for mesh.yaml ``monitoring.schedule`` and ``monitoring.engines.*`` that cannot be read."""
    model = config.model
    if model is None:
        return []
    out: list[Diagnostic] = []
    monitoring = model.monitoring
    if monitoring.schedule is not None:
        declared = DeclaredSchedule(monitoring.schedule, None, ("monitoring", "schedule"), "mesh")
        out += _problem(declared, config.document, config.file)
    for engine, value in monitoring.engines.items():
        declared = DeclaredSchedule(value, None, ("monitoring", "engines", engine), "mesh:engine")
        out += _problem(declared, config.document, config.file)
    return out


__all__ = ["CODE", "check_contract_schedule", "check_mesh_schedules"]
