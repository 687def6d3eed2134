"""Lake data claimed across domains: ports of two domains whose locations are the same, or one inside the other.

A dataset resolves to the most specific location that holds it (`PortIndex`), so a retail port at
``<lake>/finance/ledger/entries/data`` would take the runs that write finance's ledger entries, and
their flags and freshness with them; a port at a folder above another domain's takes that domain's
other data. A domain's contract may therefore not overlap another domain's lake data: `meshplane
lint` (and so `plan` and `apply`, locally or through a server) reports each side of such an overlap
as an error on its contract's file and line (code `port-location-claimed`). Since a bundle is
linted whole, the apply that brings the overlap in is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from meshplane.diagnostics import Diagnostic, Severity
from meshplane.lineage.identity import DatasetIdentity
from meshplane.lineage.resolve import PortIndexRow, build_port_index
from meshplane.mesh.repository import MeshRepository

LINT_CODE = "port-location-claimed"


def _parents(identity: DatasetIdentity) -> Iterator[DatasetIdentity]:
    parent = identity.parent()
    while parent is not None:
        yield parent
        parent = parent.parent()


def cross_domain_claims(rows: Iterable[PortIndexRow]) -> list[tuple[PortIndexRow, PortIndexRow]]:
    """(one, other) pairs of lake locations of two domains, each way: the same location, or one inside the other."""
    at: dict[DatasetIdentity, list[PortIndexRow]] = {}
    for row in rows:
        if row.identity.is_path:
            at.setdefault(row.identity, []).append(row)
    out: list[tuple[PortIndexRow, PortIndexRow]] = []
    for identity, inner in at.items():
        outer = [*inner, *(row for parent in _parents(identity) for row in at.get(parent, ()))]
        # one contract bound to ports of two domains is another rule's error (`output-port-other-products-contract`)
        for one, other in (
            (a, b) for a in inner for b in outer if a.domain != b.domain and a.contract_id != b.contract_id
        ):
            out += [(one, other)] if one.identity == other.identity else [(one, other), (other, one)]
    return out


def check_port_claims(repo: MeshRepository) -> list[Diagnostic]:
    """An error on each contract server whose lake data overlaps another domain's port (module doc)."""
    contracts = {(e.contract.id, e.contract.version): e for e in repo.contracts if e.contract is not None}
    out: dict[tuple[str, str, str], Diagnostic] = {}
    for claiming, claimed in cross_domain_claims(build_port_index(repo).rows):
        entry = contracts.get((claiming.contract_id, claiming.contract_version))
        key = (entry.file if entry else claiming.contract_id, claiming.server, f"{claimed.product}/{claimed.port}")
        if entry is None or entry.contract is None or key in out:
            continue
        servers = [s.server for s in entry.contract.servers or []]
        if claiming.identity == claimed.identity:
            where = "at"
        else:
            where = "inside" if claimed.identity in set(_parents(claiming.identity)) else "around"
        message = (
            f"server '{claiming.server}' puts {claiming.product}/{claiming.port} {where} the data of "
            f"{claimed.product}/{claimed.port} ({claimed.domain}: {claimed.identity}); a domain's port cannot "
            "overlap another domain's lake data"
        )
        path = ("servers", servers.index(claiming.server), "path") if claiming.server in servers else ("servers",)
        if entry.document is not None:
            out[key] = entry.document.diagnostic(path, message, code=LINT_CODE)
        else:
            out[key] = Diagnostic(Severity.ERROR, LINT_CODE, message, entry.file)
    return list(out.values())


__all__ = ["LINT_CODE", "check_port_claims", "cross_domain_claims"]
