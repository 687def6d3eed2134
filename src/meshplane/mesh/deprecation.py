"""Deprecated output ports and their sunset date, read from the product descriptor.

ODPS v1.0.0 gives an output port no lifecycle field, so the deprecation is written in the port's
`customProperties` (the extension point the standard offers), and goes through plan, apply and
review with the descriptor::

    outputPorts:
      - name: orders
        version: 1.4.0
        contractId: sales.orders.orders
        customProperties:
          - property: deprecated
            value: true
          - property: sunsetDate
            value: "2027-03-31"
          - property: replacedBy        # optional: the port consumers move to
            value: orders_v2

A `sunsetDate` alone also deprecates the port. `check_deprecations` reports what is malformed
(`deprecation-invalid`) at its line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from meshplane.diagnostics import Diagnostic, Severity
from meshplane.spec.odps import DataProduct
from meshplane.spec.yamlsource import YamlDocument

DEPRECATED = "deprecated"
SUNSET_DATE = "sunsetDate"
REPLACED_BY = "replacedBy"


@dataclass(frozen=True)
class Deprecation:
    """A deprecated port: until when it is served (None: no date yet) and which port replaces it."""

    sunset: date | None
    replaced_by: str | None = None

    def days_left(self, today: date) -> int | None:
        """Days from `today` to the sunset date (negative once past; None without a date)."""
        return (self.sunset - today).days if self.sunset is not None else None

    def is_past(self, today: date) -> bool:
        """True once the sunset date has passed (the day itself still serves)."""
        return self.sunset is not None and today > self.sunset


def _pairs(custom: Iterable[Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in custom or []:
        if isinstance(item, Mapping):
            name, value = item.get("property"), item.get("value")
        else:
            name, value = getattr(item, "property", None), getattr(item, "value", None)
        if isinstance(name, str):
            out[name] = value
    return out


def _problem(values: Mapping[str, Any]) -> str | None:
    flag, sunset, replaced = values.get(DEPRECATED), values.get(SUNSET_DATE), values.get(REPLACED_BY)
    if flag is not None and not isinstance(flag, bool):
        return f"customProperties '{DEPRECATED}' must be true or false, not {flag!r}"
    if sunset is not None:
        try:
            date.fromisoformat(str(sunset))
        except ValueError:
            return f"customProperties '{SUNSET_DATE}' must be a date (YYYY-MM-DD), not {sunset!r}"
    if replaced is not None and not isinstance(replaced, str):
        return f"customProperties '{REPLACED_BY}' must name an output port of the product"
    return None


def deprecation_of(custom: Iterable[Any] | None) -> Deprecation | None:
    """The deprecation a port's customProperties declare (None: not deprecated, or malformed)."""
    values = _pairs(custom)
    if _problem(values) is not None:
        return None
    flag, sunset = values.get(DEPRECATED), values.get(SUNSET_DATE)
    if flag is False or (flag is None and sunset is None):
        return None
    replaced = values.get(REPLACED_BY)
    return Deprecation(date.fromisoformat(str(sunset)) if sunset is not None else None, replaced)


def port_deprecations(document: Mapping[str, Any]) -> dict[tuple[str, str], Deprecation]:
    """Deprecated output ports of a stored product descriptor: (port name, version) -> deprecation."""
    out: dict[tuple[str, str], Deprecation] = {}
    for port in document.get("outputPorts") or []:
        if isinstance(port, Mapping):
            found = deprecation_of(port.get("customProperties"))
            if found is not None:
                out[(str(port.get("name")), str(port.get("version")))] = found
    return out


def check_deprecations(product: DataProduct, doc: YamlDocument | None, file: str) -> list[Diagnostic]:
    """Malformed deprecations, and a `replacedBy` naming no output port of the product."""
    out: list[Diagnostic] = []
    names = {p.name for p in product.output_ports or []}
    for index, port in enumerate(product.output_ports or []):
        values = _pairs(port.custom_properties)
        problem = _problem(values)
        replaced = values.get(REPLACED_BY)
        if problem is None and isinstance(replaced, str) and replaced not in names:
            problem = f"customProperties '{REPLACED_BY}' names '{replaced}', which is no output port of this product"
        if problem is None:
            continue
        path = ("outputPorts", index, "customProperties")
        message = f"output port '{port.name}': {problem}"
        if doc is not None:
            out.append(doc.diagnostic(path, message, code="deprecation-invalid", severity=Severity.ERROR))
        else:
            out.append(Diagnostic(Severity.ERROR, "deprecation-invalid", message, file))
    return out
