"""Batch rules: duplicates in a group, disagreeing parents, orphans and parent/child warnings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl

from tests.validators.conftest import TODAY, frame, ric, rule_ids, rules_of, uscc
from validators import split, validate_batch

ORG = uscc()
STAMP = datetime(2026, 4, 1, tzinfo=UTC)


def group(code: str = "G1", **fields) -> dict:
    row = dict(group_code=code, organizer_uscc=ORG, group_type="DOMESTIC", start_date=date(2026, 5, 1),
               end_date=date(2026, 5, 5), tourist_count=2, status="SUBMITTED", submitted_at=STAMP, updated_at=STAMP)
    row.update(fields)
    return row


def member(code: str = "G1", seq: int = 1, **fields) -> dict:
    row = dict(organizer_uscc=ORG, group_code=code, seq_no=seq, name="张三", name_pinyin="ZHANG SAN", gender="M",
               birth_date=date(1975, 3, 15), doc_type="CN_RIC", doc_no=ric(seq=100 + 2 * seq + 1), nationality="CHN")
    row.update(fields)
    return row


def contract(code: str = "C1", **fields) -> dict:
    row = dict(contract_code=code, agency_uscc=ORG, contract_type="DOMESTIC", start_date=date(2026, 5, 1),
               end_date=date(2026, 5, 5), tourist_count=2, price_total=Decimal("3000.00"), status="REGISTERED",
               registered_at=STAMP, updated_at=STAMP)
    row.update(fields)
    return row


def tourist(code: str = "C1", seq: int = 1, **fields) -> dict:
    row = dict(contract_code=code, seq_no=seq, name="李四", gender="M", birth_date=date(1975, 3, 15),
               doc_type="CN_RIC", doc_no=ric(seq=100 + 2 * seq + 1), nationality="CHN")
    row.update(fields)
    return row


class Warehouse:
    """Stands in for the pipeline's `existing_keys`: a set of stored parent keys, and a log of questions."""

    def __init__(self, **stored: list[dict]):
        self.stored = stored
        self.asked: list[tuple[str, pl.DataFrame]] = []

    def existing_keys(self, parent: str, keys: pl.DataFrame) -> pl.DataFrame:
        self.asked.append((parent, keys))
        stored = pl.DataFrame(self.stored.get(parent, []), schema={c: pl.String for c in keys.columns})
        return keys.join(stored, on=keys.columns, how="semi")


def run(warehouse: Warehouse | None = None, **rows: list[dict]) -> dict[str, pl.DataFrame]:
    frames = {name: frame(name, r) for name, r in rows.items()}
    return validate_batch(frames, existing_keys=(warehouse or Warehouse()).existing_keys, today=TODAY)


def test_a_consistent_group_with_its_members_passes():
    out = run(tour_group=[group()], group_member=[member(seq=1), member(seq=2)])
    assert [rule_ids(out["group_member"], i) for i in range(2)] == [set(), set()]
    assert rule_ids(out["tour_group"]) == set()


def test_the_same_document_twice_in_one_group_rejects_both_rows():
    same = ric(seq=333)
    out = run(tour_group=[group(), group("G2")],
              group_member=[member(seq=1, doc_no=same), member(seq=2, doc_no=same), member("G2", seq=1, doc_no=same)])
    m = out["group_member"]
    assert rules_of(m, 0) == rules_of(m, 1) == {("DUPLICATE_IN_GROUP", "doc_no")}
    assert rule_ids(m, 2) == set()  # another group may carry the same person


def test_a_legacy_id_and_its_upgraded_form_are_the_same_document():
    out = run(tour_group=[group()], group_member=[member(seq=1, doc_no="210102500101123", birth_date=date(1950, 1, 1)),
                                                  member(seq=2, doc_no="210102195001011239", birth_date=date(1950, 1, 1))])
    assert "DUPLICATE_IN_GROUP" in rule_ids(out["group_member"], 0)
    assert "DUPLICATE_IN_GROUP" in rule_ids(out["group_member"], 1)


def test_duplicate_tourists_in_one_contract_are_rejected():
    out = run(e_contract=[contract()], contract_tourist=[tourist(seq=1, doc_no=ric()), tourist(seq=2, doc_no=ric())])
    assert all("DUPLICATE_IN_GROUP" in rule_ids(out["contract_tourist"], i) for i in range(2))


def test_disagreeing_group_rows_reject_every_copy_and_every_child():
    out = run(tour_group=[group(), group(end_date=date(2026, 5, 6)), group("G2")],
              group_member=[member(seq=1), member(seq=2), member("G2", seq=1)],
              group_staff=[dict(organizer_uscc=ORG, group_code="G1", guide_card_no="D-2101-000001", role="LOCAL_GUIDE")])
    assert [rule_ids(out["tour_group"], i) for i in range(3)] == [{"GROUP_COLUMNS_DISAGREE"}] * 2 + [set()]
    assert [rule_ids(out["group_member"], i) for i in range(3)] == [{"GROUP_COLUMNS_DISAGREE"}] * 2 + [set()]
    assert rule_ids(out["group_staff"]) == {"GROUP_COLUMNS_DISAGREE"}


def test_identical_repeated_group_rows_are_not_a_disagreement():
    out = run(tour_group=[group(), group()], group_member=[member()])
    assert rule_ids(out["tour_group"], 0) == rule_ids(out["tour_group"], 1) == set()


def test_disagreeing_contract_rows_reject_their_tourists():
    out = run(e_contract=[contract(), contract(tourist_count=3)], contract_tourist=[tourist(seq=1), tourist(seq=2)])
    assert rule_ids(out["e_contract"], 0) >= {"GROUP_COLUMNS_DISAGREE"}
    assert rule_ids(out["contract_tourist"], 0) == {"GROUP_COLUMNS_DISAGREE"}


def test_two_different_tourists_under_one_group_and_seq_no_are_each_an_error():
    other = member(seq=1, name="王五", doc_no=ric(seq=555))
    out = run(tour_group=[group()], group_member=[member(seq=1), other, member(seq=2)])
    m = out["group_member"]
    assert [rules_of(m, i) for i in range(3)] == [{("KEY_CONFLICT", "seq_no")}] * 2 + [set()]
    issue = m["_issues"][0][0]
    assert issue["value"] == f"{ORG}|G1|1"
    assert issue["message"] == ("本批团队游客名单中有多行组团社统一社会信用代码/团号/序号相同但内容不同，"
                                "无法判断哪行正确，请更正编号或删除错误的行")
    good, bad = split(m)
    assert (good.height, bad.height) == (1, 2)


def test_an_identical_repeated_tourist_stays_a_duplicate_document_not_a_key_conflict():
    out = run(tour_group=[group()], group_member=[member(seq=1), member(seq=1)])
    m = out["group_member"]
    assert rules_of(m, 0) == rules_of(m, 1) == {("DUPLICATE_IN_GROUP", "doc_no")}


def test_an_identical_repeated_guide_passes_and_a_differing_one_conflicts():
    guide = dict(guide_card_no="D-2101-000001", name="赵六", gender="M", id_number=ric(seq=777), updated_at=STAMP)
    same = run(guide=[guide, dict(guide)])["guide"]
    assert rule_ids(same, 0) == rule_ids(same, 1) == set()
    differing = run(guide=[guide, {**guide, "name": "钱七"}, {**guide, "updated_at": datetime(2026, 3, 1, tzinfo=UTC)}])
    assert [rule_ids(differing["guide"], i) for i in range(3)] == [{"KEY_CONFLICT"}] * 3


def test_versions_of_one_record_ordered_by_updated_at_are_not_a_conflict():
    guide = dict(guide_card_no="D-2101-000001", name="赵六", gender="M", id_number=ric(seq=777), updated_at=STAMP)
    newer = {**guide, "name": "钱七", "updated_at": datetime(2026, 4, 2, tzinfo=UTC)}
    out = run(guide=[guide, newer])["guide"]
    assert rule_ids(out, 0) == rule_ids(out, 1) == set()


def test_a_member_of_an_unknown_group_is_an_orphan():
    wh = Warehouse()
    out = run(wh, group_member=[member("NOPE")])
    [issue] = out["group_member"]["_issues"][0]
    assert (issue["rule"], issue["field"], issue["value"]) == ("ORPHAN", "group_code", "NOPE")
    assert issue["message"] == "找不到所属团队，请先报送团队信息或核对团号/合同编号"
    [(parent, keys)] = wh.asked
    assert parent == "tour_group" and keys.to_dicts() == [{"organizer_uscc": ORG, "group_code": "NOPE"}]


def test_a_member_of_a_stored_group_is_not_an_orphan_and_batch_parents_are_not_asked_about():
    wh = Warehouse(tour_group=[{"organizer_uscc": ORG, "group_code": "OLD"}])
    out = run(wh, tour_group=[group("NEW")], group_member=[member("OLD"), member("NEW", seq=2)])
    assert rule_ids(out["group_member"], 0) == rule_ids(out["group_member"], 1) == set()
    assert [k.to_dicts() for _, k in wh.asked] == [[{"organizer_uscc": ORG, "group_code": "OLD"}]]


def test_children_of_a_rejected_group_are_orphans_asking_for_a_joint_fix():
    out = run(tour_group=[group(tourist_count=0)], group_member=[member()])
    [issue] = out["group_member"]["_issues"][0]
    assert (issue["rule"], issue["message"]) == ("ORPHAN", "所属团队未通过校验，请一并更正")
    good, bad = split(out["group_member"])
    assert good.is_empty() and len(bad) == 1


def test_an_itinerary_day_outside_the_group_dates_is_only_a_warning():
    out = run(tour_group=[group()],
              group_itinerary=[dict(organizer_uscc=ORG, group_code="G1", day_no=1, date=date(2026, 5, 9),
                                     province_code="21")])
    [issue] = out["group_itinerary"]["_issues"][0]
    assert (issue["rule"], issue["severity"], issue["value"]) == ("ITINERARY_OUTSIDE_DATES", "WARN", "2026-05-09")
    good, _ = split(out["group_itinerary"])
    assert len(good) == 1


def test_outbound_members_without_pinyin_get_a_warning():
    out = run(tour_group=[group(group_type="OUTBOUND", destinations=["JPN"], exit_port="大连"), group("G2")],
              group_member=[member(name_pinyin=None), member("G2", name_pinyin=None)])
    issues = out["group_member"]["_issues"]
    assert [(i["rule"], i["severity"]) for i in issues[0]] == [("PINYIN_MISSING", "WARN")]
    assert issues[1].to_list() == []


def test_a_contract_whose_head_count_differs_from_its_tourists_gets_a_warning():
    out = run(e_contract=[contract("C1", tourist_count=3), contract("C2", tourist_count=1)],
              contract_tourist=[tourist("C1", 1), tourist("C1", 2), tourist("C2", 1)])
    assert rules_of(out["e_contract"], 0) == {("CONTRACT_TOURIST_COUNT", "tourist_count")}
    assert rule_ids(out["e_contract"], 1) == set()


def test_itinerary_days_inside_the_group_dates_pass():
    days = [dict(organizer_uscc=ORG, group_code="G1", day_no=n, date=date(2026, 5, d), province_code="21")
            for n, d in [(1, 1), (2, 5), (3, 6)]]
    out = run(tour_group=[group()], group_itinerary=days)
    assert [rule_ids(out["group_itinerary"], i) for i in range(3)] == [set(), set(), {"ITINERARY_OUTSIDE_DATES"}]


def day(code: str = "G1", n: int = 1, **fields) -> dict:
    row = dict(organizer_uscc=ORG, group_code=code, day_no=n, date=date(2026, 5, n))
    row.update(fields)
    return row


def test_domestic_and_inbound_itinerary_days_need_a_province_and_outbound_days_abroad_a_country():
    out = run(
        tour_group=[group("DOM"), group("IN", group_type="INBOUND"),
                    group("OUT", group_type="OUTBOUND", destinations=["JPN"], exit_port="大连")],
        group_itinerary=[
            day("DOM", 1, province_code="21"), day("DOM", 2, country="JPN"),  # a domestic day abroad?
            day("IN", 1),
            day("OUT", 1, province_code="21"), day("OUT", 2, country="JPN"), day("OUT", 3),
        ],
    )
    it = out["group_itinerary"]
    assert [rules_of(it, i) for i in range(6)] == [
        set(), {("REQUIRED", "province_code")},
        {("REQUIRED", "province_code")},
        set(), set(), {("REQUIRED", "country")},
    ]
    good, bad = split(it)
    assert len(good) == 3 and len(bad) == 3


def test_an_itinerary_day_of_a_stored_group_needs_at_least_a_province_or_a_country():
    wh = Warehouse(tour_group=[{"organizer_uscc": ORG, "group_code": "OLD"}])
    out = run(wh, group_itinerary=[day("OLD", 1, province_code="21"), day("OLD", 2, country="JPN"), day("OLD", 3)])
    assert [rules_of(out["group_itinerary"], i) for i in range(3)] == [set(), set(), {("REQUIRED", "province_code")}]


def test_an_unreadable_province_is_reported_once_not_also_as_missing():
    out = run(tour_group=[group()], group_itinerary=[day(province_code="火星")])
    assert {r for r, _ in rules_of(out["group_itinerary"], 0)} == {"CODE_LIST"}


def test_batch_rules_keep_row_order_and_lineage():
    out = run(tour_group=[group()], group_member=[member(seq=n) for n in range(1, 6)])
    assert out["group_member"]["seq_no"].to_list() == [1, 2, 3, 4, 5]
    assert out["group_member"]["_row"].to_list() == [2, 3, 4, 5, 6]


def test_an_entity_with_no_rows_comes_back_conformed_beside_one_with_rows():
    """A sync's teams frame has no contracts: the empty entity gets no rule (nothing to check, nor
    any warehouse question) and comes back with its canonical columns and `_issues`, as a checked
    frame with rows does."""
    warehouse = Warehouse()
    out = run(warehouse, tour_group=[group()], group_member=[member(), member(seq=2)], e_contract=[], contract_tourist=[])

    assert out["e_contract"].is_empty() and out["contract_tourist"].is_empty()
    filled = run(e_contract=[contract()], contract_tourist=[tourist(), tourist(seq=2)])
    assert out["e_contract"].schema == filled["e_contract"].schema
    assert out["contract_tourist"].schema == filled["contract_tourist"].schema
    assert [parent for parent, _ in warehouse.asked] == []  # the members' group is the batch's own
    assert rule_ids(out["group_member"]) == set()
