"""compare_states: the entity-level plan, as data in → changes out (no database)."""

from __future__ import annotations

from dataclasses import replace

from meshplane.registry.changes import Action, Kind, compare_states
from meshplane.registry.state import (
    ContractVersionSpec,
    DomainSpec,
    MeshState,
    PortSpec,
    ProductSpec,
    RegisteredContract,
    RegisteredDomain,
    RegisteredPort,
    RegisteredProduct,
    RegistryState,
)


def _domain(did: str, sha: str = "d") -> DomainSpec:
    return DomainSpec(did, {"id": did, "x": sha}, sha)


def _product(pid: str, domain: str, outs=(), ins=(), sha: str = "p") -> ProductSpec:
    return ProductSpec(
        pid,
        domain,
        {"id": pid, "x": sha},
        sha,
        "active",
        output_ports=tuple(PortSpec(n, v, c) for n, v, c in outs),
        input_ports=tuple(PortSpec(n, v, c) for n, v, c in ins),
    )


def _contract(cid: str, version: str, domain: str, product: str, sha: str = "c") -> ContractVersionSpec:
    return ContractVersionSpec(cid, version, domain, product, {"id": cid, "version": version}, sha, "active")


def _desired() -> MeshState:
    state = MeshState("m")
    state.domains = {"a": _domain("a"), "b": _domain("b")}
    state.products = {
        "a.p": _product("a.p", "a", outs=[("out", "1.0.0", "a.p.out")]),
        "b.q": _product("b.q", "b", outs=[("out", "1.0.0", "b.q.out")], ins=[("in", "1.0.0", "a.p.out")]),
    }
    state.contract_versions = [_contract("a.p.out", "1.0.0", "a", "a.p"), _contract("b.q.out", "1.0.0", "b", "b.q")]
    return state


def _registered(desired: MeshState) -> RegistryState:
    """The registry state an apply of `desired` leaves."""
    reg = RegistryState()
    for d in desired.domains.values():
        reg.domains[d.id] = RegisteredDomain(d.id, d.sha256, None, False, d.document)
    next_id = iter(range(1, 10_000))
    for p in desired.products.values():
        prod = RegisteredProduct(p.id, p.domain, p.sha256, 1, None, False, None, p.document)
        for port in p.output_ports:
            prod.output_ports[port.key] = RegisteredPort(
                next(next_id), port.name, port.version, port.contract_id, None, None, False
            )
        for port in p.input_ports:
            prod.input_ports[port.key] = RegisteredPort(
                next(next_id), port.name, port.version, port.contract_id, None, None, False
            )
        reg.products[p.id] = prod
    for c in desired.contract_versions:
        con = reg.contracts.setdefault(
            c.contract_id, RegisteredContract(c.contract_id, c.domain, c.product_id, c.name, c.version, False)
        )
        con.versions[c.version] = c.sha256
    return reg


def _actions(changes) -> set[tuple[str, str, str]]:
    return {(c.kind.value, c.action.value, c.id) for c in changes.entities}


def test_everything_is_created_in_an_empty_registry() -> None:
    changes = compare_states(_desired(), RegistryState())
    assert _actions(changes) == {
        ("domain", "create", "a"),
        ("domain", "create", "b"),
        ("product", "create", "a.p"),
        ("product", "create", "b.q"),
        ("outputPort", "create", "a.p/out@1.0.0"),
        ("outputPort", "create", "b.q/out@1.0.0"),
        ("inputPort", "create", "b.q/in@1.0.0"),
        ("contract", "create", "a.p.out"),
        ("contract", "create", "b.q.out"),
    }
    assert [(n.spec.contract_id, n.base_version) for n in changes.new_versions] == [
        ("a.p.out", None),
        ("b.q.out", None),
    ]
    assert not changes.empty


def test_nothing_changes_when_the_registry_matches() -> None:
    desired = _desired()
    changes = compare_states(desired, _registered(desired))
    assert changes.empty and not changes.entities and not changes.conflicts and not changes.consumer_breaks


def test_changed_descriptor_is_an_update_with_the_changed_fields() -> None:
    desired = _desired()
    current = _registered(desired)
    desired.products["a.p"] = replace(desired.products["a.p"], document={"id": "a.p", "x": "new"}, sha256="p2")
    changes = compare_states(desired, current)
    [update] = changes.entities
    assert (update.kind, update.action, update.fields) == (Kind.PRODUCT, Action.UPDATE, ("x",))


def test_port_version_bump_retires_the_old_port_and_keeps_consumers_served() -> None:
    desired = _desired()
    current = _registered(desired)
    desired.products["a.p"] = _product("a.p", "a", outs=[("out", "1.1.0", "a.p.out")])
    changes = compare_states(desired, current)
    assert _actions(changes) == {("outputPort", "create", "a.p/out@1.1.0"), ("outputPort", "retire", "a.p/out@1.0.0")}
    assert changes.consumer_breaks == []


def test_removing_a_consumed_port_is_a_consumer_break() -> None:
    desired = _desired()
    current = _registered(desired)
    desired.products["a.p"] = _product("a.p", "a", outs=[("out", "2.0.0", "a.p.out")])  # major 1 no longer served
    changes = compare_states(desired, current)
    [brk] = changes.consumer_breaks
    assert (brk.kind, brk.id, brk.contract_id, brk.major, brk.consumers) == (
        Kind.OUTPUT_PORT,
        "a.p/out@1.0.0",
        "a.p.out",
        1,
        (("b.q", "in"),),
    )


def test_removing_an_unconsumed_port_is_fine() -> None:
    desired = _desired()
    current = _registered(desired)
    desired.products["b.q"] = _product("b.q", "b", ins=[("in", "1.0.0", "a.p.out")])
    changes = compare_states(desired, current)
    assert ("outputPort", "retire", "b.q/out@1.0.0") in _actions(changes)
    assert changes.consumer_breaks == []


def test_absent_entities_are_kept_without_prune_and_retired_with_it() -> None:
    desired = _desired()
    current = _registered(desired)
    del desired.products["b.q"]
    desired.contract_versions = [c for c in desired.contract_versions if c.product_id != "b.q"]
    kept = compare_states(desired, current)
    assert kept.entities == [] and {c.id for c in kept.absent} == {"b.q", "b.q.out"}
    pruned = compare_states(desired, current, prune=True)
    assert _actions(pruned) == {
        ("product", "retire", "b.q"),
        ("outputPort", "retire", "b.q/out@1.0.0"),
        ("inputPort", "retire", "b.q/in@1.0.0"),
        ("contract", "retire", "b.q.out"),
    }
    assert pruned.consumer_breaks == []


def test_pruning_a_consumed_product_is_a_consumer_break() -> None:
    desired = _desired()
    current = _registered(desired)
    del desired.products["a.p"]
    desired.contract_versions = [c for c in desired.contract_versions if c.product_id != "a.p"]
    changes = compare_states(desired, current, prune=True)
    assert {(b.kind.value, b.id) for b in changes.consumer_breaks} == {
        ("outputPort", "a.p/out@1.0.0"),
        ("contract", "a.p.out"),
    }


def test_retired_entities_come_back_as_restored() -> None:
    desired = _desired()
    current = _registered(desired)
    current.products["a.p"].retired = True
    current.domains["a"] = replace(current.domains["a"], retired=True)
    actions = _actions(compare_states(desired, current))
    assert ("product", "restore", "a.p") in actions and ("domain", "restore", "a") in actions


def test_changed_content_under_a_registered_version_is_a_conflict() -> None:
    desired = _desired()
    current = _registered(desired)
    desired.contract_versions[0] = replace(desired.contract_versions[0], sha256="other")
    changes = compare_states(desired, current)
    [conflict] = changes.conflicts
    assert conflict.spec.contract_id == "a.p.out" and conflict.registered_sha256 == "c"
    assert changes.new_versions == []


def test_new_version_is_compared_with_the_highest_registered_version_below_it() -> None:
    desired = _desired()
    current = _registered(desired)
    current.contracts["a.p.out"].versions.update({"1.2.0": "x", "2.0.0": "y"})
    desired.contract_versions[0] = _contract("a.p.out", "1.3.0", "a", "a.p")
    [new] = compare_states(desired, current).new_versions
    assert (new.spec.version, new.base_version) == ("1.3.0", "1.2.0")


def test_duplicate_and_invalid_versions() -> None:
    desired = _desired()
    desired.contract_versions.append(replace(desired.contract_versions[0], sha256="other", file="b.yaml"))
    desired.contract_versions.append(_contract("a.p.out", "latest", "a", "a.p"))
    changes = compare_states(desired, RegistryState())
    assert len(changes.duplicates) == 1 and [s.version for s in changes.invalid_versions] == ["latest"]
