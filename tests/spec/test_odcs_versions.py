"""Each ODCS version's documents are validated and modelled by that version's rules.

`files/v3.0.0-full.odcs.yaml` is meshplane's own v3.0.0 contract using the fields the v3.0.0
schema admits in its open objects and v3.1 no longer names (``team[].comment`` and others).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from meshplane.spec.base import UNKNOWN_FIELDS
from meshplane.spec.loader import dump_document, load_contract, load_text
from meshplane.spec.odcs import Contract, TeamMember
from meshplane.spec.validation import ODCS_OPEN_VERSIONS, ODCS_SCHEMAS, load_schema

FULL_V300 = Path(__file__).parent / "files" / "v3.0.0-full.odcs.yaml"


def test_a_v300_contract_with_v300_fields_loads_and_keeps_them() -> None:
    loaded = load_contract(FULL_V300)
    assert loaded.ok, [str(d) for d in loaded.diagnostics]
    contract = loaded.model
    assert isinstance(contract, Contract)
    members = contract.team_members()
    assert [m.username for m in members] == ["mfarine", "pmie"]
    assert members[1].model_extra == {"comment": "moved to the south region"}
    assert contract.support and contract.support[0].model_extra == {"comment": "answered in the morning"}
    assert contract.objects[0].properties[3].quality[0].model_extra == {"comment": "counted at the door"}


def test_a_v300_contract_round_trips_with_its_v300_fields() -> None:
    contract = load_contract(FULL_V300).model
    text = dump_document(contract)
    assert yaml.safe_load(text)["team"][0]["comment"] == "started the product"
    again = load_text(text, "again.odcs.yaml")
    assert again.ok and again.model == contract


def test_the_same_field_in_a_v31_contract_is_refused_with_the_fix() -> None:
    data = yaml.safe_load(FULL_V300.read_text(encoding="utf-8"))
    data["apiVersion"] = "v3.1.0"
    data["team"] = {"name": "bakery", "members": [{"username": "mfarine", "comment": "x"}]}
    for key in ("description", "servers", "support", "roles", "slaProperties"):
        data.pop(key)
    data["schema"][0]["properties"] = data["schema"][0]["properties"][:2]
    loaded = load_text(yaml.safe_dump(data), "v31.odcs.yaml")
    assert not loaded.ok
    (diag,) = loaded.diagnostics
    assert diag.code == "schema-unknown-field" and diag.path == "$.team.members[0].comment"
    assert "not part of ODCS v3.1.0; remove it or use customProperties" in diag.message


def test_a_field_odcs_does_not_name_on_a_server_says_how_to_keep_it() -> None:
    text = """apiVersion: v3.1.0
kind: DataContract
id: c
version: 1.0.0
status: active
servers:
  - server: lake
    type: local
    path: orders.csv
    format: csv
    delimiter: ";"
"""
    loaded = load_text(text, "c.odcs.yaml")
    (diag,) = loaded.diagnostics
    assert (diag.line, diag.path) == (11, "$.servers[0].delimiter")
    assert diag.message == "unknown field 'delimiter': not part of ODCS v3.1.0; remove it or use customProperties"
    assert diag.hint == "customProperties: [{property: delimiter, value: ...}]"


def test_models_refuse_unknown_fields_unless_the_version_admits_them() -> None:
    with pytest.raises(ValidationError, match="unknown field"):
        TeamMember.model_validate({"username": "a", "comment": "x"})
    member = TeamMember.model_validate({"username": "a", "comment": "x"}, context={UNKNOWN_FIELDS: True})
    assert member.model_extra == {"comment": "x"}


@pytest.mark.parametrize("version", sorted(ODCS_SCHEMAS))
def test_open_versions_are_the_ones_whose_team_member_is_open(version: str) -> None:
    schema = load_schema(ODCS_SCHEMAS[version])
    definitions = schema["$defs"]
    member = definitions.get("Team") if version in ODCS_OPEN_VERSIONS else definitions["TeamMember"]
    closed = member.get("additionalProperties") is False or member.get("unevaluatedProperties") is False
    assert closed is (version not in ODCS_OPEN_VERSIONS)


def test_a_stored_v300_document_is_modelled_by_its_version() -> None:
    document = load_contract(FULL_V300).model.to_document()
    assert Contract.from_document(document).team_members()[0].model_extra == {"comment": "started the product"}
    with pytest.raises(ValidationError, match="unknown field"):
        Contract.from_document({**document, "apiVersion": "v3.1.0"})
