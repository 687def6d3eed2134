"""Lint warnings: things that are valid but make a product harder to trust or use.

Each rule is one function in `CONTRACT_RULES` or `PRODUCT_RULES`; adding a rule is adding a
function to this module. Warnings never make `lint` fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from meshplane.diagnostics import Diagnostic, JsonPath, Severity
from meshplane.spec.meshfiles import Domain
from meshplane.spec.odcs import Contract, SchemaProperty
from meshplane.spec.odps import DataProduct
from meshplane.spec.yamlsource import YamlDocument

PII_NAME = re.compile(
    r"(^|_)(e_?mail|phone|mobile|msisdn|iban|bic|ssn|social_security|national_id|passport|tax_id|vat_id|"
    r"birth_?date|date_of_birth|dob|birthday|address|street|postcode|postal_code|zip_?code|"
    r"first_?name|last_?name|full_?name|surname|given_name|credit_card|card_number|ip_address|geo_?location)(_|$)",
    re.IGNORECASE,
)
"""Column names that usually hold personal data."""

FRESHNESS_SLAS = ("freshness", "latency")

PLACEHOLDER_PREFIX = "Describe "
"""How every text `meshplane new` leaves for its author to write starts (`service.scaffold`)."""
PLACEHOLDER = re.compile(rf"^\s*({PLACEHOLDER_PREFIX}|TODO\b|TBD\b|FIXME\b)", re.IGNORECASE)
"""Text that stands in for a description nobody wrote yet."""


@dataclass(frozen=True)
class ContractLint:
    """What a contract rule sees."""

    contract: Contract
    doc: YamlDocument | None
    file: str
    is_output_port: bool = True


@dataclass(frozen=True)
class ProductLint:
    """What a product rule sees: the product and, inside a mesh, its domain."""

    product: DataProduct
    doc: YamlDocument | None
    file: str
    domain: Domain | None = None


def _warn(doc: YamlDocument | None, file: str, path: JsonPath, message: str, code: str) -> Diagnostic:
    if doc is not None:
        return doc.diagnostic(path, message, code=code, severity=Severity.WARNING)
    return Diagnostic(Severity.WARNING, code, message, file)


def _properties(contract: Contract) -> Iterator[tuple[JsonPath, str, SchemaProperty]]:
    """Every property (nested too) with its document path and dotted name."""

    def walk(prop: SchemaProperty, path: JsonPath, name: str) -> Iterator[tuple[JsonPath, str, SchemaProperty]]:
        yield path, name, prop
        for ci, child in enumerate(prop.properties or []):
            yield from walk(child, (*path, "properties", ci), f"{name}.{child.name}")
        if prop.items is not None:
            yield from walk(prop.items, (*path, "items"), f"{name}[]")

    for oi, obj in enumerate(contract.objects):
        for pi, prop in enumerate(obj.properties or []):
            yield from walk(prop, ("schema", oi, "properties", pi), f"{obj.name}.{prop.name}")


def missing_contract_descriptions(ctx: ContractLint) -> list[Diagnostic]:
    """Contracts, objects and properties should say what they are."""
    out = []
    if ctx.contract.description is None or not (ctx.contract.description.purpose or ctx.contract.description.usage):
        out.append(
            _warn(
                ctx.doc,
                ctx.file,
                (),
                f"contract '{ctx.contract.id}' has no description (purpose/usage)",
                "missing-description",
            )
        )
    for oi, obj in enumerate(ctx.contract.objects):
        if not obj.description:
            out.append(
                _warn(
                    ctx.doc, ctx.file, ("schema", oi), f"object '{obj.name}' has no description", "missing-description"
                )
            )
    for path, name, prop in _properties(ctx.contract):
        if not prop.description and prop.name:
            out.append(_warn(ctx.doc, ctx.file, path, f"property '{name}' has no description", "missing-description"))
    return out


def no_freshness_sla(ctx: ContractLint) -> list[Diagnostic]:
    """Consumers need to know how fresh the data is."""
    if not ctx.is_output_port or any(ctx.contract.sla(name) for name in FRESHNESS_SLAS):
        return []
    return [
        _warn(
            ctx.doc,
            ctx.file,
            (),
            f"contract '{ctx.contract.id}' declares no freshness or latency SLA (slaProperties)",
            "no-freshness-sla",
        )
    ]


def unclassified_pii(ctx: ContractLint) -> list[Diagnostic]:
    """Columns that look like personal data need a classification."""
    return [
        _warn(
            ctx.doc,
            ctx.file,
            path,
            f"property '{name}' looks like personal data but has no classification",
            "pii-unclassified",
        )
        for path, name, prop in _properties(ctx.contract)
        if prop.name and PII_NAME.search(prop.name) and not prop.classification
    ]


def no_quality_rules(ctx: ContractLint) -> list[Diagnostic]:
    """An output port without quality rules promises nothing testable beyond its schema."""
    if not ctx.is_output_port:
        return []
    has_rules = any(obj.quality for obj in ctx.contract.objects) or any(
        p.quality for _, _, p in _properties(ctx.contract)
    )
    if has_rules:
        return []
    return [_warn(ctx.doc, ctx.file, (), f"contract '{ctx.contract.id}' has no quality rules", "no-quality-rules")]


def _placeholders(
    doc: YamlDocument | None, file: str, texts: Iterator[tuple[JsonPath, str, str | None]]
) -> list[Diagnostic]:
    return [
        _warn(doc, file, path, f"{what} is still placeholder text: '{text.strip()}'", "placeholder-text")
        for path, what, text in texts
        if text and PLACEHOLDER.match(text)
    ]


def _description_texts(description: object | None, path: JsonPath) -> Iterator[tuple[JsonPath, str, str | None]]:
    for key in ("purpose", "usage", "limitations"):
        yield (*path, key), f"description.{key}", getattr(description, key, None)


def contract_placeholders(ctx: ContractLint) -> list[Diagnostic]:
    """Scaffolded text (``Describe what ...``) must be written before consumers read it in the catalog."""

    def texts() -> Iterator[tuple[JsonPath, str, str | None]]:
        yield from _description_texts(ctx.contract.description, ("description",))
        for oi, obj in enumerate(ctx.contract.objects):
            yield ("schema", oi, "description"), f"description of object '{obj.name}'", obj.description
        for path, name, prop in _properties(ctx.contract):
            yield (*path, "description"), f"description of property '{name}'", prop.description

    return _placeholders(ctx.doc, ctx.file, texts())


def product_placeholders(ctx: ProductLint) -> list[Diagnostic]:
    """Scaffolded text in a product descriptor: its description and its ports' descriptions."""

    def texts() -> Iterator[tuple[JsonPath, str, str | None]]:
        yield from _description_texts(ctx.product.description, ("description",))
        for index, port in enumerate(ctx.product.output_ports or []):
            yield ("outputPorts", index, "description"), f"description of output port '{port.name}'", port.description

    return _placeholders(ctx.doc, ctx.file, texts())


def missing_product_description(ctx: ProductLint) -> list[Diagnostic]:
    """A product needs a purpose to be discoverable."""
    out = []
    if ctx.product.description is None or not ctx.product.description.purpose:
        out.append(
            _warn(
                ctx.doc, ctx.file, (), f"product '{ctx.product.id}' has no description.purpose", "missing-description"
            )
        )
    for index, port in enumerate(ctx.product.output_ports or []):
        if not port.description:
            out.append(
                _warn(
                    ctx.doc,
                    ctx.file,
                    ("outputPorts", index),
                    f"output port '{port.name}' has no description",
                    "missing-description",
                )
            )
    return out


def no_support_channel(ctx: ProductLint) -> list[Diagnostic]:
    """Consumers need somewhere to ask: the product's or its domain's support channel."""
    if ctx.product.support or (ctx.domain is not None and ctx.domain.support):
        return []
    return [
        _warn(
            ctx.doc,
            ctx.file,
            (),
            f"product '{ctx.product.id}' has no support channel for its consumers",
            "no-support-channel",
        )
    ]


def no_status(ctx: ContractLint) -> list[Diagnostic]:
    """ODCS v3.2.0 makes `status` optional; consumers and plan still need the contract's lifecycle."""
    if ctx.contract.status is not None:
        return []
    return [
        _warn(
            ctx.doc,
            ctx.file,
            (),
            f"contract '{ctx.contract.id}' states no status: consumers cannot tell a draft from an active "
            "contract (the registry records an empty status); add status: draft, active, deprecated or retired",
            "no-status",
        )
    ]


CONTRACT_RULES: tuple[Callable[[ContractLint], list[Diagnostic]], ...] = (
    no_status,
    missing_contract_descriptions,
    no_freshness_sla,
    unclassified_pii,
    no_quality_rules,
    contract_placeholders,
)
PRODUCT_RULES: tuple[Callable[[ProductLint], list[Diagnostic]], ...] = (
    missing_product_description,
    no_support_channel,
    product_placeholders,
)


def lint_contract(ctx: ContractLint) -> list[Diagnostic]:
    """All contract warnings."""
    return [d for rule in CONTRACT_RULES for d in rule(ctx)]


def lint_product(ctx: ProductLint) -> list[Diagnostic]:
    """All product warnings."""
    return [d for rule in PRODUCT_RULES for d in rule(ctx)]
