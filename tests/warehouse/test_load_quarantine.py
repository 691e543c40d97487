"""Rejected rows: kept in quarantine with their reasons, never twice, resolved by the fix."""

from __future__ import annotations

import json
from decimal import Decimal

import sqlalchemy as sa

from tests.warehouse.entity_frames import ORGANIZER, at, entity_frame, group, issue, member

BAD_ID = issue("RIC_CHECKSUM", "doc_no", "110105198001010031", message="证件号码校验位错误，请核对第18位")


def entries(wh, where: str = "1=1") -> list[sa.Row]:
    with wh.engine.connect() as conn:
        return conn.execute(sa.text(f"select * from quarantine where {where} order by id")).all()


def test_a_bad_row_is_kept_with_its_raw_row_file_row_and_every_rule(warehouse):
    bad = entity_frame("group_member", [member("G1", 31, issues=[BAD_ID, issue("MOBILE_FORMAT", "mobile", "1", severity="WARN")], _row=33)], file="名单.xlsx")
    with warehouse.batch("sftp:a") as b:
        assert b.quarantine("group_member", bad, source="sftp:a") == 1
        batch_id = b.batch_id
    [entry] = entries(warehouse)
    assert (entry.batch_id, entry.source, entry.file, entry.row, entry.entity, entry.status) == (batch_id, "sftp:a", "名单.xlsx", 33, "group_member", "open")
    assert json.loads(entry.natural_key) == {"organizer_uscc": ORGANIZER, "group_code": "G1", "seq_no": 31}
    assert json.loads(entry.raw)["doc_no"] == "110105198001010031"
    rules = entry.rules if isinstance(entry.rules, list) else json.loads(entry.rules)
    assert [r["rule"] for r in rules] == ["RIC_CHECKSUM", "MOBILE_FORMAT"]
    assert rules[0]["message"] == "证件号码校验位错误，请核对第18位"
    assert entry.agency_uscc == ORGANIZER


def test_the_agencys_division_comes_from_travel_agency(warehouse):
    agency = {"uscc": ORGANIZER, "name": "北京国旅", "division_code": "110105", "updated_at": at(1)}
    with warehouse.batch("t") as b:
        b.merge("travel_agency", entity_frame("travel_agency", [agency]))
        b.quarantine("tour_group", entity_frame("tour_group", [group("G1", issues=[BAD_ID])]), source="t")
    [entry] = entries(warehouse)
    assert (entry.agency_uscc, entry.division_code) == (ORGANIZER, "110105")


def test_a_contract_tourists_agency_is_its_contracts(warehouse):
    contract = {"contract_code": "HT1", "agency_uscc": ORGANIZER, "contract_type": "DOMESTIC", "tourist_count": 1,
                "price_total": Decimal("1.00"), "status": "SIGNED", "registered_at": at(1), "updated_at": at(1)}  # fmt: skip
    with warehouse.batch("t") as b:
        b.merge("e_contract", entity_frame("e_contract", [contract]))
        b.quarantine("contract_tourist", entity_frame("contract_tourist", [{"contract_code": "HT1", "seq_no": 1, "issues": [BAD_ID]}]), source="t")
    assert entries(warehouse)[0].agency_uscc == ORGANIZER


def test_a_malformed_agency_code_is_no_agency(warehouse):
    bad = entity_frame("tour_group", [group("G1", organizer_uscc="9111000MA01ABCD2X-TOO-LONG", issues=[BAD_ID])])
    with warehouse.batch("t") as b:
        b.quarantine("tour_group", bad, source="t")
    assert entries(warehouse)[0].agency_uscc is None


def test_reimporting_the_same_bad_row_adds_no_second_open_entry_and_says_which_batch_holds_it(warehouse):
    bad = entity_frame("group_member", [member("G1", 31, issues=[BAD_ID]), member("G1", 31, issues=[BAD_ID])])
    batches = []
    for _ in range(2):
        with warehouse.batch("t") as b:
            assert b.quarantine("group_member", bad, source="t") == 2
            assert b.quarantine("group_member", bad, source="t") == 2  # met again in a later chunk of the batch
            batches.append((b.batch_id, dict(b.quarantine_entries)))
    assert len(entries(warehouse)) == 1
    (first, before), (_, again) = batches
    assert before == {first: 1}, "two rows, one entry; the batch's own entry is not 'held elsewhere'"
    assert again == {first: 1}, "the second batch's row is the first batch's open entry"


def test_a_bad_row_read_again_supersedes_its_older_open_entry_with_history(warehouse):
    with warehouse.batch("t") as b:
        b.quarantine("group_member", entity_frame("group_member", [member("G1", 31, issues=[BAD_ID])]), source="t")
    # read again, e.g. after its group changed: another raw row, the same rule and one more
    later = issue("DATE_RANGE", "birth_date", "x")
    again = entity_frame("group_member", [member("G1", 31, name="改了但还错", issues=[BAD_ID, later])])
    for _ in range(2):  # the same input twice: the second adds and closes nothing
        with warehouse.batch("t") as b:
            b.quarantine("group_member", again, source="t")
    old, current = entries(warehouse)
    assert (old.status, current.status) == ("superseded", "open")
    assert old.status_reason and json.loads(current.raw)["name"] == "改了但还错"
    with warehouse.engine.connect() as conn:
        history = conn.execute(sa.text("select quarantine_id, status, reason from quarantine_history")).all()
    assert [(h.quarantine_id, h.status) for h in history] == [(old.id, "superseded")]
    assert f"entry {current.id}" in history[0].reason


def test_entries_sharing_no_rule_or_no_complete_key_or_one_batch_stay_open(warehouse):
    other = issue("MOBILE_FORMAT", "mobile", "1")
    with warehouse.batch("t") as b:
        b.quarantine("group_member", entity_frame("group_member", [member("G1", 31, issues=[BAD_ID]), member("G1", 40, seq_no=None, name="甲", issues=[BAD_ID])]), source="t")
    with warehouse.batch("t") as b:  # another rule for 31; another row without a 序号; two rows under one key
        b.quarantine("group_member", entity_frame("group_member", [member("G1", 31, name="乙", issues=[other]), member("G1", 41, seq_no=None, name="丙", issues=[BAD_ID]), member("G1", 32, name="丁", issues=[BAD_ID]), member("G1", 32, name="戊", issues=[BAD_ID])]), source="t")
    assert [e.status for e in entries(warehouse)] == ["open"] * 6


def test_a_corrected_row_resolves_its_open_entry(warehouse):
    with warehouse.batch("t") as b:
        b.quarantine("group_member", entity_frame("group_member", [member("G1", 31, issues=[BAD_ID]), member("G1", 32, issues=[BAD_ID])]), source="t")
    with warehouse.batch("t") as b:
        b.merge("group_member", entity_frame("group_member", [member("G1", 31)]))
        fixing_batch = b.batch_id
    resolved, still_open = entries(warehouse)
    assert (resolved.status, resolved.resolved_by_batch) == ("resolved", fixing_batch)
    assert still_open.status == "open"
    with warehouse.engine.connect() as conn:
        history = conn.execute(sa.text("select quarantine_id, status, batch_id from quarantine_history")).all()
    assert [tuple(h) for h in history] == [(resolved.id, "resolved", fixing_batch)]


def test_a_resolved_entry_does_not_block_a_new_failure_of_the_same_row(warehouse):
    bad = entity_frame("group_member", [member("G1", 31, issues=[BAD_ID])])
    with warehouse.batch("t") as b:
        b.quarantine("group_member", bad, source="t")
    with warehouse.batch("t") as b:
        b.merge("group_member", entity_frame("group_member", [member("G1", 31)]))
    with warehouse.batch("t") as b:
        b.quarantine("group_member", bad, source="t")
    assert [e.status for e in entries(warehouse)] == ["resolved", "open"]


def test_a_rejected_member_keeps_its_stored_version_when_the_roster_is_replaced(warehouse):
    with warehouse.batch("t") as b:
        b.merge("tour_group", entity_frame("tour_group", [group("G1")]))
        b.merge("group_member", entity_frame("group_member", [member("G1", i) for i in (1, 2, 3)]))
    with warehouse.batch("t") as b:
        b.merge("tour_group", entity_frame("tour_group", [group("G1", updated=at(2), route="改")]))
        b.merge("group_member", entity_frame("group_member", [member("G1", 1)]))
        b.quarantine("group_member", entity_frame("group_member", [member("G1", 2, issues=[BAD_ID])]), source="t")
    with warehouse.engine.connect() as conn:
        assert conn.exec_driver_sql("select seq_no from group_member order by 1").scalars().all() == [1, 2]


def test_warnings_of_loaded_rows_become_findings_once(warehouse):
    warn = issue("PINYIN_MISSING", "name_pinyin", "", severity="WARN", message="出境游客缺少姓名拼音")
    good = entity_frame("group_member", [member("G1", 1, issues=[warn]), member("G1", 2)])
    for _ in range(2):
        with warehouse.batch("t") as b:
            b.merge("group_member", good)
            b.findings("group_member", good)
    with warehouse.engine.connect() as conn:
        rows = conn.execute(sa.text("select entity, natural_key, agency_uscc, rule, severity, field, message from finding")).all()
    assert len(rows) == 1
    assert tuple(rows[0])[3:] == ("PINYIN_MISSING", "WARN", "name_pinyin", "出境游客缺少姓名拼音")
    assert json.loads(rows[0].natural_key)["seq_no"] == 1 and rows[0].agency_uscc == ORGANIZER
