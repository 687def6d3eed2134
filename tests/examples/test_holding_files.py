"""The holding example mesh and the prepared changes are valid and follow the mesh conventions.

Files are validated against the official schemas read from ../shared/standards (ODCS v3.1.0,
ODPS v1.0.0) and against meshplane's own schemas (domain, mesh), with Draft 2019-09.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator

REPO = Path(__file__).resolve().parents[2]
STANDARDS = REPO.parent / "shared" / "standards"
MESHPLANE_SCHEMAS = REPO / "src" / "meshplane" / "spec" / "schemas"
MESH = REPO / "examples" / "holding"
CHANGES = REPO / "examples" / "changes"

SCHEMAS = {
    "odcs": STANDARDS / "odcs" / "schema" / "odcs-json-schema-v3.1.0.json",
    "odps": STANDARDS / "odps" / "schema" / "odps-json-schema-v1.0.0.json",
    "domain": MESHPLANE_SCHEMAS / "meshplane-domain-v1.json",
    "mesh": MESHPLANE_SCHEMAS / "meshplane-mesh-v1.json",
}
DOMAINS = ("retail", "logistics", "finance", "marketing", "customer")
CLASSIFICATIONS = {"public", "internal", "confidential", "pii", "restricted"}
SENSITIVE = {"confidential", "pii", "restricted"}
PII_NAME = re.compile(
    r"(e_?mail|phone|mobile|iban|ssn|social_security|passport|birth|address|street|postal|zip"
    r"|first_?name|last_?name|full_?name|surname|given_name)",
    re.IGNORECASE,
)
PHYSICAL_TYPES = re.compile(
    r"^(VARCHAR|BIGINT|INTEGER|DOUBLE|DECIMAL\(\d+,\d+\)|DATE|TIMESTAMP|TIMESTAMP WITH TIME ZONE|BOOLEAN)$"
)
SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def _kind(path: Path) -> str:
    if path.name.endswith(".odcs.yaml"):
        return "odcs"
    if path.name.endswith(".odps.yaml"):
        return "odps"
    return {"domain.yaml": "domain", "mesh.yaml": "mesh"}[path.name]


def _yaml_files() -> list[Path]:
    files = [*MESH.rglob("*.yaml"), *CHANGES.rglob("*.yaml")]
    return sorted(f for f in files if "lake" not in f.relative_to(REPO / "examples").parts[1:2])


@cache
def _validator(kind: str) -> Draft201909Validator:
    return Draft201909Validator(json.loads(SCHEMAS[kind].read_text(encoding="utf-8")))


@cache
def _load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), path
    return doc


def _products() -> dict[str, tuple[Path, dict[str, Any]]]:
    return {_load(p)["id"]: (p, _load(p)) for p in sorted(MESH.glob("domains/*/products/*/product.odps.yaml"))}


def _contracts() -> dict[str, tuple[Path, dict[str, Any]]]:
    return {_load(p)["id"]: (p, _load(p)) for p in sorted(MESH.glob("domains/*/products/*/contracts/*.odcs.yaml"))}


def _properties(contract: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(obj["name"], prop) for obj in contract.get("schema", []) for prop in obj.get("properties", [])]


# ---------------------------------------------------------------- schema validity


def test_the_example_files_exist() -> None:
    kinds = [_kind(f) for f in _yaml_files()]
    assert kinds.count("mesh") == 1
    assert kinds.count("domain") == len(DOMAINS)
    assert kinds.count("odps") >= 8
    assert kinds.count("odcs") >= 8


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: p.relative_to(REPO / "examples").as_posix())
def test_file_validates_against_its_schema(path: Path) -> None:
    doc = _load(path)
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in _validator(_kind(path)).iter_errors(doc)
    ]
    assert errors == []
    expected_api = {"odcs": "v3.1.0", "odps": "v1.0.0", "domain": "meshplane/v1", "mesh": "meshplane/v1"}
    assert doc["apiVersion"] == expected_api[_kind(path)]


def test_the_validator_really_rejects_bad_files() -> None:
    contract = dict(_load(next(iter(_contracts().values()))[0]))
    contract["status"] = 3
    contract["unknownTopLevelKey"] = True
    assert len(list(_validator("odcs").iter_errors(contract))) >= 2


def test_dates_stay_strings() -> None:
    """Unquoted YAML dates would become datetime objects that JSON Schema cannot see as strings."""

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")
        else:
            assert not hasattr(node, "isoformat"), f"{where} is a {type(node).__name__}; quote it"

    for path in _yaml_files():
        walk(_load(path), path.name)


# ---------------------------------------------------------------- mesh and domains


def test_mesh_maps_one_job_namespace_per_domain() -> None:
    mesh = _load(MESH / "mesh.yaml")
    assert mesh["name"] == "holding"
    assert mesh["lake"]["root"] == "lake"
    assert mesh["defaultEngine"] == "duckdb"
    assert sorted(mesh["lineage"]["jobNamespaces"].values()) == sorted(DOMAINS)


@pytest.mark.parametrize("domain", DOMAINS)
def test_domain_folder_matches_id_and_has_an_owner(domain: str) -> None:
    doc = _load(MESH / "domains" / domain / "domain.yaml")
    assert doc["id"] == domain
    assert any(m.get("role") == "owner" for m in doc["team"]["members"])
    assert doc["support"] and all(s.get("url") for s in doc["support"])


# ---------------------------------------------------------------- products and ports


def test_product_ids_are_unique_and_follow_the_layout() -> None:
    paths = sorted(MESH.glob("domains/*/products/*/product.odps.yaml"))
    ids = [_load(p)["id"] for p in paths]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 8
    for path in paths:
        doc = _load(path)
        domain, product = path.parts[-4], path.parts[-2]
        assert doc["id"] == f"{domain}.{product}"
        assert doc["domain"] == domain
        assert doc["status"] == "active"
        assert SEMVER.match(doc["version"])
        assert {"purpose", "limitations", "usage"} <= set(doc["description"])
        assert doc["tags"]
        assert doc["support"]
        assert any(m.get("role") == "owner" for m in doc["team"]["members"])
        assert doc["outputPorts"]


def test_every_output_port_has_its_contract_file() -> None:
    contracts = _contracts()
    for product_id, (path, product) in _products().items():
        names = [port["name"] for port in product["outputPorts"]]
        assert len(names) == len(set(names)), product_id
        for port in product["outputPorts"]:
            assert port["type"] == "tables"
            assert port["description"]
            contract_id = f"{product_id}.{port['name']}"
            assert port["contractId"] == contract_id
            assert contract_id in contracts, f"{product_id}: no contract {contract_id}"
            contract_path, contract = contracts[contract_id]
            assert contract_path.parent == path.parent / "contracts"
            assert contract["version"] == port["version"]
            assert contract["domain"] == product["domain"]
            assert contract["status"] == "active"


def test_every_contract_belongs_to_an_output_port() -> None:
    ports = {p["contractId"] for _, product in _products().values() for p in product["outputPorts"]}
    assert set(_contracts()) == ports


def test_input_ports_point_at_existing_contracts_of_the_same_major() -> None:
    contracts = _contracts()
    cross_domain: list[tuple[str, str]] = []
    for product_id, (_, product) in _products().items():
        for port in product.get("inputPorts", []):
            assert port["contractId"] in contracts, f"{product_id} reads unknown {port['contractId']}"
            _, provider = contracts[port["contractId"]]
            assert port["contractId"] not in {p["contractId"] for p in product["outputPorts"]}
            consumed, current = SEMVER.match(port["version"]), SEMVER.match(provider["version"])
            assert consumed and current
            assert consumed.group(1) == current.group(1), f"{product_id}: {port}"
            assert tuple(map(int, consumed.groups())) <= tuple(map(int, current.groups()))
            if provider["domain"] != product["domain"]:
                cross_domain.append((product_id, port["contractId"]))
    assert len(cross_domain) >= 4
    assert ("logistics.shipments", "retail.sales.orders") in cross_domain
    assert ("marketing.campaign_performance", "customer.profiles.customers") in cross_domain


def test_some_products_are_pure_sources() -> None:
    sources = [pid for pid, (_, doc) in _products().items() if not doc.get("inputPorts")]
    assert len(sources) >= 2


# ---------------------------------------------------------------- contracts


@pytest.mark.parametrize("contract_id", sorted(_contracts()))
def test_contract_conventions(contract_id: str) -> None:
    path, contract = _contracts()[contract_id]
    product = _load(path.parents[1] / "product.odps.yaml")
    assert contract_id.startswith(product["id"] + ".")
    assert contract_id.count(".") == 2
    assert contract["kind"] == "DataContract"
    objects = contract["schema"]
    assert 1 <= len(objects) <= 2
    for obj in objects:
        assert obj.get("description"), obj["name"]
        assert 3 <= len(obj["properties"]) <= 12, obj["name"]
    for obj_name, prop in _properties(contract):
        where = f"{obj_name}.{prop['name']}"
        assert prop.get("description"), where
        assert prop.get("logicalType"), where
        assert PHYSICAL_TYPES.match(prop.get("physicalType", "")), where
        if "classification" in prop:
            assert prop["classification"] in CLASSIFICATIONS, where
        for rule in prop.get("quality", []):
            if rule.get("type") == "sql":
                assert "{object}" in rule["query"], where
    servers = contract["servers"]
    assert [s["type"] for s in servers] == ["local"]
    assert servers[0]["format"] in {"parquet", "csv", "iceberg"}
    assert not servers[0]["path"].startswith(("/", "..")), "paths are relative to the lake root"
    sla = {s["property"]: s for s in contract["slaProperties"]}
    assert {"latency", "freshness"} <= set(sla)
    columns = {f"{obj}.{prop['name']}" for obj, prop in _properties(contract)}
    for item in contract["slaProperties"]:
        if "element" in item:
            assert item["element"] in columns, item


def test_every_pii_looking_property_is_classified_as_sensitive() -> None:
    files = [*MESH.glob("domains/*/products/*/contracts/*.odcs.yaml"), *CHANGES.glob("*.odcs.yaml")]
    checked = 0
    for path in files:
        for obj_name, prop in _properties(_load(path)):
            if PII_NAME.search(prop["name"]):
                checked += 1
                assert prop.get("classification") in SENSITIVE, f"{path.name}: {obj_name}.{prop['name']}"
    assert checked >= 8


def test_the_contracts_use_the_whole_rule_vocabulary() -> None:
    """The example exists to exercise the checks: every kind of rule appears somewhere."""
    metrics: set[str] = set()
    operators: set[str] = set()
    arguments: set[str] = set()
    sql_with_property = False
    formats: set[str] = set()
    options: set[str] = set()
    composite_keys = relationships = retention = 0
    for _, contract in _contracts().values():
        formats.add(contract["servers"][0]["format"])
        retention += any(s["property"] == "retention" for s in contract["slaProperties"])
        for obj in contract["schema"]:
            rules = list(obj.get("quality", []))
            positions = [p.get("primaryKeyPosition", -1) for p in obj["properties"] if p.get("primaryKey")]
            composite_keys += len(positions) > 1 and sorted(positions) == list(range(1, len(positions) + 1))
            for prop in obj["properties"]:
                rules += prop.get("quality", [])
                relationships += len(prop.get("relationships", []))
                options |= set(prop.get("logicalTypeOptions", {}))
                options |= {"format:" + prop.get("logicalTypeOptions", {}).get("format", "")}
            for rule in rules:
                if "metric" in rule:
                    metrics.add(rule["metric"])
                    arguments |= set(rule.get("arguments", {}))
                sql_with_property |= "{property}" in rule.get("query", "")
                operators |= {k for k in rule if k.startswith("must")}
    assert metrics == {"nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount"}
    assert {"mustBe", "mustBeLessThan", "mustBeBetween", "mustBeGreaterThan"} <= operators
    assert {"validValues", "missingValues", "properties"} <= arguments
    assert sql_with_property
    assert formats == {"parquet", "csv", "iceberg"}
    assert {"pattern", "minLength", "maxLength", "minimum", "maximum", "format:email"} <= options
    assert composite_keys >= 1
    assert relationships >= 1
    assert retention >= 1


def test_exactly_the_iceberg_contract_points_at_a_table_location() -> None:
    iceberg = [c for c in _contracts().values() if c[1]["servers"][0]["format"] == "iceberg"]
    assert [c[1]["id"] for c in iceberg] == ["finance.ledger.ledger_entries"]
    assert iceberg[0][1]["servers"][0]["path"] == "finance/ledger/ledger_entries"


# ---------------------------------------------------------------- prepared changes


def _consumers(contract_id: str) -> list[tuple[str, str]]:
    return [
        (pid, doc["domain"])
        for pid, (_, doc) in _products().items()
        for port in doc.get("inputPorts", [])
        if port["contractId"] == contract_id
    ]


def test_breaking_change_removes_a_column_under_a_minor_bump() -> None:
    changed_files = sorted(CHANGES.glob("*.odcs.yaml"))
    assert changed_files
    breaking = CHANGES / "customer.profiles.customers-1.1.0.odcs.yaml"
    new = _load(breaking)
    _, old = _contracts()[new["id"]]
    old_v, new_v = SEMVER.match(old["version"]), SEMVER.match(new["version"])
    assert old_v and new_v
    assert new_v.group(1) == old_v.group(1) and int(new_v.group(2)) == int(old_v.group(2)) + 1
    removed = {p["name"] for _, p in _properties(old)} - {p["name"] for _, p in _properties(new)}
    assert removed == {"segment"}
    consumer_domains = {domain for _, domain in _consumers(new["id"])}
    assert consumer_domains - {new["domain"]}, "a consumer in another domain must be impacted"
    # ... and that consumer really publishes something built from the removed column
    assert any(
        prop["name"] in removed
        for pid, domain in _consumers(new["id"])
        if domain != new["domain"]
        for _, contract in _contracts().values()
        if contract["id"].startswith(pid + ".")
        for _, prop in _properties(contract)
    )


def test_non_breaking_change_only_adds_an_optional_column() -> None:
    new = _load(CHANGES / "retail.sales.orders-1.3.0.odcs.yaml")
    _, old = _contracts()[new["id"]]
    old_props = {p["name"]: p for _, p in _properties(old)}
    new_props = {p["name"]: p for _, p in _properties(new)}
    added = set(new_props) - set(old_props)
    assert set(old_props) <= set(new_props)
    assert added == {"coupon_code"}
    assert not new_props["coupon_code"].get("required", False)
    assert all(new_props[name] == prop for name, prop in old_props.items())
    assert (old["version"], new["version"]) == ("1.2.0", "1.3.0")


def test_changes_readme_names_every_prepared_change() -> None:
    readme = (CHANGES / "README.md").read_text(encoding="utf-8")
    for path in CHANGES.glob("*.odcs.yaml"):
        assert path.name in readme
