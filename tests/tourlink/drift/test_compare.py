"""The drift comparison, pure: what vanishes, what is renamed, what is added, and what is not a finding."""

from __future__ import annotations

import polars as pl

from tourlink.drift import Finding, compare, received_fields
from tourlink.frames import ROW, SourceFrame

MAPPED = {"teamNo": ["tour_group.group_code"], "lineName": ["tour_group.route_name"], "tourists": [],
          "tourists.cardNo": ["group_member.doc_no"], "tourists.name": ["group_member.name"]}
BEFORE = {"teamNo": "text", "lineName": "text", "tourists": "list", "tourists.cardNo": "text", "tourists.name": "text"}


def test_the_first_sighting_is_the_baseline_and_yields_nothing():
    assert compare("teams", {"teamNo": "text"}, set(), MAPPED, []) == []


def test_a_mapped_field_absent_from_a_read_after_steady_sightings_vanished():
    now = {k: v for k, v in BEFORE.items() if k != "lineName"}
    assert compare("teams", now, set(), MAPPED, [BEFORE, BEFORE]) == [
        Finding("teams", "vanished", "lineName", None, ("tour_group.route_name",))
    ]


def test_a_vanished_field_beside_a_new_one_of_the_same_kind_and_parent_is_a_rename():
    now = {**{k: v for k, v in BEFORE.items() if k != "tourists.cardNo"}, "tourists.idCardNo": "text", "remark": "text"}
    assert compare("teams", now, set(), MAPPED, [BEFORE]) == [
        Finding("teams", "renamed", "tourists.cardNo", "tourists.idCardNo", ("group_member.doc_no",)),
        Finding("teams", "added", "remark"),
    ]


def test_a_field_that_was_not_in_every_recent_sighting_is_optional_and_never_vanishes():
    sparse = {k: v for k, v in BEFORE.items() if k != "lineName"}
    now = {k: v for k, v in BEFORE.items() if k != "lineName"}
    assert compare("teams", now, set(), MAPPED, [BEFORE, sparse, BEFORE]) == []


def test_an_added_field_already_seen_by_a_recent_sighting_is_not_reported_again():
    seen = {**BEFORE, "remark": "text"}
    assert compare("teams", seen, set(), MAPPED, [seen, BEFORE]) == []


def test_inner_fields_of_a_list_that_held_no_record_are_unknown_not_vanished():
    frame = SourceFrame(pl.DataFrame({"teamNo": ["T1"], "lineName": ["京"], "tourists": pl.Series([None], dtype=pl.List(pl.String)),
                                      ROW: [1]}), file="teams-page-0001.json")
    ((stream, (fields, opaque)),) = received_fields([frame], "signed_json").items()
    assert stream == "teams" and opaque == {"tourists"} and "tourists.cardNo" not in fields
    assert compare(stream, fields, opaque, MAPPED, [BEFORE]) == []


def test_received_fields_follow_lists_of_records_into_dotted_paths():
    frame = SourceFrame(pl.DataFrame({"teamNo": ["T1"], "tourists": [[{"cardNo": "x", "no": 1}]], ROW: [1]}), file="upload.json")
    assert received_fields([frame], "signed_json") == {
        "signed_json": ({"teamNo": "text", "tourists": "list", "tourists.cardNo": "text", "tourists.no": "number"}, set())
    }


def test_a_finding_as_plain_data_keeps_every_field_and_its_fills_as_a_list():
    renamed = Finding("teams", "renamed", "tourists.cardNo", "tourists.idCardNo", ("group_member.doc_no",))
    assert renamed.as_dict() == {"stream": "teams", "kind": "renamed", "field": "tourists.cardNo",
                                 "renamed_to": "tourists.idCardNo", "fills": ["group_member.doc_no"]}  # fmt: skip
    assert Finding("teams", "added", "remark").as_dict()["fills"] == []
