"""Checks no single file can make: the references and ownership rules that cross files.

A product's domain matches its folder; each output port's contract is a contract of that product;
contract and product ids are unique; every input port resolves to another product's output-port
contract with a compatible major version; each team has an owner; contract domains match; product
ids start with ``<domain>.`` and contract ids with ``<product id>.`` (`meshplane.mesh.ownership`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from meshplane.diagnostics import Diagnostic, JsonPath, Severity
from meshplane.mesh.ownership import contract_prefix, is_under, owning_domain, product_prefix
from meshplane.mesh.references import check_references
from meshplane.mesh.repository import ContractEntry, MeshRepository, ProductEntry
from meshplane.spec.versions import PARTIAL, major_of
from meshplane.spec.yamlsource import YamlDocument


@dataclass(frozen=True)
class _Site:
    """Where to point a diagnostic: a document (for line numbers) or just a file name."""

    file: str
    doc: YamlDocument | None

    def error(self, path: JsonPath, message: str, code: str, severity: Severity = Severity.ERROR) -> Diagnostic:
        if self.doc is not None:
            return self.doc.diagnostic(path, message, code=code, severity=severity)
        return Diagnostic(severity, code, message, self.file)


def _product_site(entry: ProductEntry) -> _Site:
    return _Site(entry.file, entry.loaded.document if entry.loaded else None)


def _contract_site(entry: ContractEntry) -> _Site:
    return _Site(entry.file, entry.document)


def _owner_problem(members: Iterable[object], site: _Site, path: JsonPath, what: str) -> list[Diagnostic]:
    roles = [(getattr(m, "role", None) or "").strip().lower() for m in members]
    if "owner" in roles:
        return []
    return [site.error(path, f"{what} has no member with role 'owner'", "team-without-owner")]


def _check_domains(repo: MeshRepository) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for entry in repo.domains:
        model = entry.model
        if model is None or entry.loaded is None:
            continue
        site = _Site(entry.file, entry.loaded.document)
        if model.id != entry.id:
            out.append(
                site.error(
                    ("id",), f"domain id '{model.id}' does not match its folder '{entry.id}'", "domain-id-mismatch"
                )
            )
        out += _owner_problem(
            model.team.members, site, ("team", "members"), f"team '{model.team.name}' of domain '{model.id}'"
        )
    return out


def _check_products(repo: MeshRepository) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    first_seen: dict[str, ProductEntry] = {}
    for entry in repo.products:
        product = entry.product
        if product is None:
            continue
        site = _product_site(entry)
        if product.id in first_seen:
            other = first_seen[product.id]
            out.append(
                site.error(
                    ("id",), f"product id '{product.id}' is already used by {other.file}", "duplicate-product-id"
                )
            )
        else:
            first_seen[product.id] = entry
        if product.domain is None:
            out.append(
                site.error(
                    (),
                    f"product '{product.id}' does not say its domain (expected domain: {entry.domain})",
                    "product-without-domain",
                )
            )
        elif product.domain != entry.domain:
            out.append(
                site.error(
                    ("domain",),
                    f"product domain '{product.domain}' does not match its folder domain '{entry.domain}'",
                    "product-domain-mismatch",
                )
            )
        if product.team is not None and product.team.members:
            out += _owner_problem(product.team.members, site, ("team", "members"), f"team of product '{product.id}'")
    return out


def _check_contracts(repo: MeshRepository) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    first_seen: dict[str, ContractEntry] = {}
    for entry in repo.contracts:
        contract = entry.contract
        if contract is None:
            continue
        site = _contract_site(entry)
        if contract.id in first_seen:
            out.append(
                site.error(
                    ("id",),
                    f"contract id '{contract.id}' is already used by {first_seen[contract.id].file}",
                    "duplicate-contract-id",
                )
            )
        else:
            first_seen[contract.id] = entry
        if contract.domain is None:
            out.append(
                site.error(
                    (),
                    f"contract '{contract.id}' does not say its domain (expected domain: {entry.domain})",
                    "contract-without-domain",
                    Severity.WARNING,
                )
            )
        elif contract.domain != entry.domain:
            out.append(
                site.error(
                    ("domain",),
                    f"contract domain '{contract.domain}' does not match its folder domain '{entry.domain}'",
                    "contract-domain-mismatch",
                )
            )
        members = contract.team_members()
        if members:
            out += _owner_problem(members, site, ("team",), f"team of contract '{contract.id}'")
        out += check_references(contract, entry.document)
    return out


def _declared_id(entry: ContractEntry | ProductEntry) -> str | None:
    """The `id` a file declares, read from its YAML even when the file did not validate."""
    loaded = entry.loaded
    doc = loaded.document if loaded else None
    value = doc.data.get("id") if doc is not None and isinstance(doc.data, dict) else None
    return value if isinstance(value, str) else None


def _unverifiable_contract_ids(repo: MeshRepository) -> set[str]:
    """Contract ids whose binding cannot be checked because a file on the way is broken.

    A broken contract file, or a broken product descriptor (whose output ports are unknown), is
    already reported; references to those contracts are not reported a second time as unresolved.
    """
    ids: set[str] = set()
    for product in repo.products:
        broken_descriptor = product.product is None
        for contract in product.contracts:
            cid = _declared_id(contract)
            if cid and (broken_descriptor or contract.contract is None):
                ids.add(cid)
        if product.product is not None and any(c.document is None for c in product.contracts):
            # A contract file that is not even YAML hides its id: none of this product's output
            # ports can be checked against its contracts/ folder.
            ids.update(p.contract_id for p in product.product.output_ports or [] if p.contract_id)
    return ids


def _check_ports(repo: MeshRepository) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    output_contracts: dict[str, tuple[ProductEntry, ContractEntry]] = {}
    unverifiable = _unverifiable_contract_ids(repo)
    for entry in repo.products:
        product = entry.product
        if product is None:
            continue
        site = _product_site(entry)
        own = {c.contract.id: c for c in entry.contracts if c.contract}
        bound: set[str] = set()
        for index, port in enumerate(product.output_ports or []):
            path: JsonPath = ("outputPorts", index)
            if not port.contract_id:
                out.append(
                    site.error(
                        path,
                        f"output port '{port.name}' has no contractId: every output port needs a contract",
                        "output-port-without-contract",
                    )
                )
                continue
            contract_entry = own.get(port.contract_id)
            if port.contract_id in unverifiable:
                continue
            if contract_entry is None or contract_entry.contract is None:
                elsewhere = repo.contract_by_id(port.contract_id)
                where = f"; it belongs to product folder '{elsewhere.product_folder}'" if elsewhere else ""
                out.append(
                    site.error(
                        (*path, "contractId"),
                        f"output port '{port.name}' names contract '{port.contract_id}', "
                        f"which is not in this product's contracts/ folder{where}",
                        "unresolved-output-contract",
                    )
                )
                continue
            bound.add(port.contract_id)
            output_contracts.setdefault(port.contract_id, (entry, contract_entry))
            if port.version != contract_entry.contract.version:
                out.append(
                    site.error(
                        (*path, "version"),
                        f"output port '{port.name}' has version {port.version} "
                        f"but contract '{port.contract_id}' is version {contract_entry.contract.version}",
                        "port-version-mismatch",
                    )
                )
        for cid, contract_entry in own.items():
            if cid not in bound:
                out.append(
                    _contract_site(contract_entry).error(
                        ("id",),
                        f"contract '{cid}' is not bound to any output port of product '{product.id}'",
                        "unbound-contract",
                        Severity.WARNING,
                    )
                )
    for entry in repo.products:
        product = entry.product
        if product is None:
            continue
        site = _product_site(entry)
        for index, inport in enumerate(product.input_ports or []):
            path = ("inputPorts", index)
            provider = output_contracts.get(inport.contract_id)
            if provider is None and inport.contract_id in unverifiable:
                continue
            if provider is None:
                out.append(
                    site.error(
                        (*path, "contractId"),
                        f"input port '{inport.name}' reads contract '{inport.contract_id}', "
                        "which is no output port's contract in this mesh",
                        "unresolved-input-port",
                    )
                )
                continue
            provider_product, provider_contract = provider
            if provider_product is entry:
                out.append(
                    site.error(
                        (*path, "contractId"),
                        f"input port '{inport.name}' reads this product's own output port",
                        "input-port-self-reference",
                    )
                )
                continue
            assert provider_contract.contract is not None
            wanted, offered = major_of(inport.version), major_of(provider_contract.contract.version)
            if wanted is None:
                out.append(
                    site.error(
                        (*path, "version"),
                        f"input port '{inport.name}' version '{inport.version}' is not a semantic version ({PARTIAL})",
                        "input-port-version-invalid",
                    )
                )
            elif wanted != offered:
                out.append(
                    site.error(
                        (*path, "version"),
                        f"input port '{inport.name}' expects major version {wanted} of '{inport.contract_id}', "
                        f"but {provider_product.id} publishes {provider_contract.contract.version}",
                        "input-port-version-mismatch",
                    )
                )
    return out


def _prefix_problem(identifier: str, prefix: str, own_domain: str, domains: set[str]) -> str | None:
    """Why `identifier` is not an id of its declarer (None when it is): outside `prefix`, or another domain's."""
    owner = owning_domain(identifier, domains)
    if is_under(identifier, prefix) and owner == own_domain:
        return None
    where = f" (the prefix '{owner}.' belongs to domain {owner})" if owner and owner != own_domain else ""
    return f"'{prefix}'{where}: ids belong to the domain and product that declare them"


def _check_id_prefixes(repo: MeshRepository) -> list[Diagnostic]:
    """Product ids start with ``<domain>.``, contract ids with ``<product id>.`` (docs/concepts.md)."""
    out: list[Diagnostic] = []
    domains = {d.id for d in repo.domains} | {p.domain for p in repo.products}
    for entry in repo.products:
        product = entry.product
        expected, owner = product_prefix(entry.domain), "domain"
        if product is not None:
            problem = _prefix_problem(product.id, expected, entry.domain, domains)
            if problem is None:
                expected, owner = contract_prefix(product.id), "product"
            else:
                out.append(
                    _product_site(entry).error(
                        ("id",), f"product id '{product.id}' is not under its domain's prefix {problem}", "id-prefix"
                    )
                )
        for contract_entry in entry.contracts:
            contract = contract_entry.contract
            if contract is None:
                continue
            problem = _prefix_problem(contract.id, expected, entry.domain, domains)
            if problem is not None:
                out.append(
                    _contract_site(contract_entry).error(
                        ("id",), f"contract id '{contract.id}' is not under its {owner}'s prefix {problem}", "id-prefix"
                    )
                )
    return out


def check_mesh(repo: MeshRepository) -> list[Diagnostic]:
    """All cross-file diagnostics of a loaded mesh (file-level ones are in `repo.file_diagnostics()`)."""
    return (
        _check_domains(repo)
        + _check_products(repo)
        + _check_contracts(repo)
        + _check_id_prefixes(repo)
        + _check_ports(repo)
    )
