"""Checks that stay inside one contract: `element`, relationship and rule-argument references.

Used both for a single file (`meshplane lint file.odcs.yaml`) and for every contract of a mesh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from meshplane.diagnostics import Diagnostic, JsonPath, Severity
from meshplane.spec.odcs import Contract, SchemaObject, SchemaProperty
from meshplane.spec.yamlsource import YamlDocument

Report = Callable[[JsonPath, str, str], None]


def _names(element: SchemaObject | SchemaProperty) -> set[str]:
    return {n for n in (element.name, element.physical_name, element.id) if n}


def resolve_element(contract: Contract, element: str) -> bool:
    """True when `element` (``object`` or ``object.property[.nested]``) names something in the contract."""
    parts = element.strip().split(".")
    for obj in contract.objects:
        if parts[0] not in _names(obj):
            continue
        if len(parts) == 1:
            return True
        props: list[SchemaProperty] = list(obj.properties or [])
        for index, part in enumerate(parts[1:], start=1):
            match = next((p for p in props if part in _names(p)), None)
            if match is None:
                return False
            if index == len(parts) - 1:
                return True
            props = list(match.properties or [])
            if match.items is not None:
                props += list(match.items.properties or [])
    return False


def _is_local_reference(ref: str) -> bool:
    """Shorthand `object.property` references are checked; external or fully qualified ones are not."""
    return "#" not in ref and "/" not in ref


def check_references(
    contract: Contract, doc: YamlDocument | None, severity: Severity = Severity.ERROR
) -> list[Diagnostic]:
    """SLA elements, relationships and rule arguments naming things that do not exist.

    Inside a mesh these are errors (the mesh is the whole world). A standalone file may be an
    excerpt whose references point elsewhere, so `lint FILE` reports them as warnings.
    """
    out: list[Diagnostic] = []

    def report(path: JsonPath, message: str, code: str) -> None:
        if doc is not None:
            out.append(doc.diagnostic(path, message, code=code, severity=severity))
        else:
            out.append(Diagnostic(severity, code, message))

    _check_sla_elements(contract, report)
    for oi, obj in enumerate(contract.objects):
        base: JsonPath = ("schema", oi)
        for ri, rel in enumerate(obj.relationships or []):
            for side, refs in (("from", rel.sources()), ("to", rel.targets())):
                for ref in refs:
                    if _is_local_reference(ref) and not resolve_element(contract, ref):
                        report(
                            (*base, "relationships", ri, side),
                            f"relationship '{side}' refers to '{ref}', which is not a property of this contract",
                            "unresolved-relationship",
                        )
        for qi, rule in enumerate(obj.quality or []):
            _check_rule_arguments(obj, rule.arguments, (*base, "quality", qi), report)
        for pi, prop in enumerate(obj.properties or []):
            for ri, rel in enumerate(prop.relationships or []):
                for ref in rel.targets():
                    if _is_local_reference(ref) and not resolve_element(contract, ref):
                        report(
                            (*base, "properties", pi, "relationships", ri, "to"),
                            f"relationship of '{prop.name}' refers to '{ref}', "
                            "which is not a property of this contract",
                            "unresolved-relationship",
                        )
            for qi, rule in enumerate(prop.quality or []):
                _check_rule_arguments(obj, rule.arguments, (*base, "properties", pi, "quality", qi), report)
    return out


def _check_sla_elements(contract: Contract, report: Report) -> None:
    for index, sla in enumerate(contract.sla_properties or []):
        for element in (e.strip() for e in (sla.element or "").split(",")):
            if element and not resolve_element(contract, element):
                report(
                    ("slaProperties", index, "element"),
                    f"SLA '{sla.property}' refers to '{element}', which is not an object or property of this contract",
                    "unresolved-element",
                )
    default = contract.sla_default_element
    if default and not resolve_element(contract, default):
        report(
            ("slaDefaultElement",),
            f"slaDefaultElement '{default}' is not an object or property of this contract",
            "unresolved-element",
        )


def _check_rule_arguments(obj: SchemaObject, arguments: dict[str, Any] | None, path: JsonPath, report: Report) -> None:
    """`arguments.properties` (e.g. of a duplicateValues rule) must name properties of the object."""
    names = arguments.get("properties") if arguments else None
    if not isinstance(names, list):
        return
    known = {n for p in obj.properties or [] for n in (p.name, p.physical_name) if n}
    for name in names:
        if isinstance(name, str) and name not in known:
            report(
                (*path, "arguments", "properties"),
                f"quality rule names property '{name}', which object '{obj.name}' does not have",
                "unresolved-rule-property",
            )
