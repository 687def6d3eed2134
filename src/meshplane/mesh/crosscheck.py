"""Checks no single file can make: the references and ownership rules that cross files.

A product's domain matches its folder; each output port's contract is a contract of that product;
product ids are unique, and a contract id belongs to one product, which may publish several major
versions of it side by side (one file and one output port per major); every input port resolves
to another product's output port publishing the major version it names, which is no draft; each
team has an owner; contract domains match; product
ids start with ``<domain>.`` and contract ids with ``<product id>.`` (`meshplane.mesh.ownership`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from meshplane.diagnostics import Diagnostic, JsonPath, Severity
from meshplane.mesh.deprecation import check_deprecations
from meshplane.mesh.ownership import contract_prefix, is_under, owning_domain, product_prefix
from meshplane.mesh.references import check_references
from meshplane.mesh.repository import ContractEntry, MeshRepository, ProductEntry
from meshplane.registry.state import DRAFT
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
        out += check_deprecations(product, site.doc, entry.file)
    return out


def _duplicate_contract(entry: ContractEntry, first: ContractEntry) -> tuple[str, str] | None:
    """Why `entry` may not declare the id `first` already declares (None when it may: another major, same product).

    One contract id keeps one version history: a product publishes several major versions of it side
    by side, one file (and one output port) per major; another product never reuses the id.
    """
    assert entry.contract is not None and first.contract is not None
    cid = entry.contract.id
    if entry.product_folder != first.product_folder:
        return f"contract id '{cid}' is already used by {first.file}", "duplicate-contract-id"
    major, first_major = major_of(entry.contract.version), major_of(first.contract.version)
    if major is None or major != first_major:
        return None
    return (
        f"contract '{cid}' has two files for major version {major} ({first.file} is "
        f"{first.contract.version}, this one {entry.contract.version}): a product publishes one version "
        "per major at a time; earlier versions stay in the registry",
        "duplicate-contract-major",
    )


def _check_contracts(repo: MeshRepository) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen: dict[str, list[ContractEntry]] = {}
    for entry in repo.contracts:
        contract = entry.contract
        if contract is None:
            continue
        site = _contract_site(entry)
        earlier = seen.setdefault(contract.id, [])
        problem = next((p for first in earlier if (p := _duplicate_contract(entry, first)) is not None), None)
        if problem is not None:
            out.append(site.error(("id",) if problem[1] == "duplicate-contract-id" else ("version",), *problem))
        else:
            earlier.append(entry)
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


@dataclass(frozen=True)
class _Offer:
    """A contract version an output port publishes."""

    product: ProductEntry
    port: str
    contract: ContractEntry

    @property
    def version(self) -> str:
        assert self.contract.contract is not None
        return self.contract.contract.version


def _check_output_ports(
    repo: MeshRepository, entry: ProductEntry, unverifiable: set[str], offers: dict[str, list[_Offer]]
) -> list[Diagnostic]:
    """Bind each output port to its contract file by (contractId, version); report unbound contract files."""
    product = entry.product
    assert product is not None
    out: list[Diagnostic] = []
    site = _product_site(entry)
    own: dict[str, list[ContractEntry]] = {}
    for c in entry.contracts:
        if c.contract is not None:
            own.setdefault(c.contract.id, []).append(c)
    bound: set[int] = set()
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
        if port.contract_id in unverifiable:
            continue
        files = own.get(port.contract_id, [])
        if not files:
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
        match = next((c for c in files if c.contract and c.contract.version == port.version), None)
        if match is None:
            versions = ", ".join(sorted(c.contract.version for c in files if c.contract))
            out.append(
                site.error(
                    (*path, "version"),
                    f"output port '{port.name}' has version {port.version} "
                    f"but contract '{port.contract_id}' is version {versions}",
                    "port-version-mismatch",
                )
            )
            continue
        bound.add(id(match))
        offers.setdefault(port.contract_id, []).append(_Offer(entry, port.name, match))
    for cid, files in own.items():
        for contract_entry in files:
            if id(contract_entry) not in bound:
                assert contract_entry.contract is not None
                out.append(
                    _contract_site(contract_entry).error(
                        ("id",),
                        f"contract '{cid}' is not bound to any output port of product '{product.id}' "
                        f"(version {contract_entry.contract.version})",
                        "unbound-contract",
                        Severity.WARNING,
                    )
                )
    return out


def _check_input_ports(
    entry: ProductEntry, unverifiable: set[str], offers: dict[str, list[_Offer]]
) -> list[Diagnostic]:
    """Each input port names a contract id and the major it reads; some other product's output port serves it."""
    product = entry.product
    assert product is not None
    out: list[Diagnostic] = []
    site = _product_site(entry)
    for index, inport in enumerate(product.input_ports or []):
        path: JsonPath = ("inputPorts", index)
        served = offers.get(inport.contract_id, [])
        if not served and inport.contract_id in unverifiable:
            continue
        if not served:
            out.append(
                site.error(
                    (*path, "contractId"),
                    f"input port '{inport.name}' reads contract '{inport.contract_id}', "
                    "which is no output port's contract in this mesh",
                    "unresolved-input-port",
                )
            )
            continue
        if all(offer.product is entry for offer in served):
            out.append(
                site.error(
                    (*path, "contractId"),
                    f"input port '{inport.name}' reads this product's own output port",
                    "input-port-self-reference",
                )
            )
            continue
        wanted = major_of(inport.version)
        if wanted is None:
            out.append(
                site.error(
                    (*path, "version"),
                    f"input port '{inport.name}' version '{inport.version}' is not a semantic version ({PARTIAL})",
                    "input-port-version-invalid",
                )
            )
            continue
        matching = [o for o in served if major_of(o.version) == wanted and o.product is not entry]
        if not matching:
            published = ", ".join(sorted({o.version for o in served}))
            out.append(
                site.error(
                    (*path, "version"),
                    f"input port '{inport.name}' expects major version {wanted} of '{inport.contract_id}', "
                    f"but {served[0].product.id} publishes {published}",
                    "input-port-version-mismatch",
                )
            )
            continue
        offer = matching[0]
        assert offer.contract.contract is not None
        if offer.contract.contract.status == DRAFT:
            out.append(
                site.error(
                    (*path, "contractId"),
                    f"input port '{inport.name}' of product '{product.id}' reads contract '{inport.contract_id}' "
                    f"{offer.version} (output port '{offer.port}' of product '{offer.product.id}'), which is a "
                    "draft: a draft is not published and can change at any time; wait until it is active",
                    "input-port-reads-draft",
                )
            )
    return out


def _check_ports(repo: MeshRepository) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    offers: dict[str, list[_Offer]] = {}
    unverifiable = _unverifiable_contract_ids(repo)
    products = [entry for entry in repo.products if entry.product is not None]
    for entry in products:
        out += _check_output_ports(repo, entry, unverifiable, offers)
    for entry in products:
        out += _check_input_ports(entry, unverifiable, offers)
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
