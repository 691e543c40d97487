"""`owner:` in each entity's schema YAML: whose data a row is, declared once and read by the agency-folder
check (`tourlink.pipeline`) and by quarantine and findings (`warehouse.quarantine`)."""

from __future__ import annotations

import shutil

import pytest
import yaml

import tourlink.schema as schema

# SPEC section 4: the agency whose data each entity's row is.
SPEC_OWNERS = {
    "tour_group": "organizer_uscc",
    "group_member": "organizer_uscc",
    "group_staff": "organizer_uscc",
    "group_itinerary": "organizer_uscc",
    "e_contract": "agency_uscc",
    "travel_agency": "uscc",
    "agency_statistics": "uscc",
    "key_agency": "uscc",
    "licensing_event": "subject_uscc",
    "guide": "leader_agency_uscc",
}


def test_every_entity_declares_the_owner_spec_names():
    owners = {name: e.owner for name, e in schema.entities().items() if e.owner}
    assert owners == SPEC_OWNERS
    tourist = schema.entity("contract_tourist")
    assert (tourist.owner, tourist.parent, tourist.parent_key, tourist.owner_of_parent) == (
        None, "e_contract", ("contract_code",), "agency_uscc")
    assert {n for n, e in schema.entities().items() if not e.owner and not e.owner_of_parent} == {"guide_app_day", "key_city"}


@pytest.fixture
def schemas(tmp_path, monkeypatch):
    target = tmp_path / "schemas"
    shutil.copytree(schema.SCHEMA_DIR, target)
    monkeypatch.setattr(schema, "SCHEMA_DIR", target)
    schema.entities.cache_clear()
    yield target
    schema.entities.cache_clear()


@pytest.mark.parametrize(
    ("entity", "owner", "error"),
    [
        ("tour_group", "organiser_uscc", "owner field 'organiser_uscc' is not declared"),
        ("contract_tourist", "tour_group.organizer_uscc", "must name a field of its parent"),
        ("contract_tourist", "e_contract.contract_code", "is not e_contract's owner field"),
    ],
)
def test_an_owner_that_names_no_such_field_fails_when_the_schemas_load(schemas, entity, owner, error):
    path = schemas / f"{entity}.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["owner"] = owner
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        schema.entities()
