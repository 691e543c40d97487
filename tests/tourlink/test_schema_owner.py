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


def test_an_agency_folder_may_hold_only_statistics_the_agency_owns(warehouse, tmp_path):
    from tests.flow.filings import ORGANIZER, rows
    from tourlink.pipeline import ForeignAgencyRows, import_files

    other = "91110000MA01ABCD2Q"
    own = tmp_path / "agency_statistics.csv"
    own.write_text(f"uscc,period,outbound_organised_pax\n{ORGANIZER},2026-Q3,120\n", encoding="utf-8")
    foreign = tmp_path / "agency_statistics_other.csv"
    foreign.write_text(f"uscc,period,outbound_organised_pax\n{ORGANIZER},2026-Q2,80\n{other},2026-Q3,5\n", encoding="utf-8")

    with pytest.raises(ForeignAgencyRows):
        import_files([foreign], warehouse=warehouse, owner_uscc=ORGANIZER)
    assert rows(warehouse, "select count(*) from agency_statistics") == [(0,)]

    import_files([own], warehouse=warehouse, owner_uscc=ORGANIZER)
    assert rows(warehouse, "select uscc, period from agency_statistics") == [(ORGANIZER, "2026-Q3")]
