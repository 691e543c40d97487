"""The mapping engine: types, code lists, defaults, Excel damage and the YAML directives."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mappings.engine import load_mapping
from tests.mappings.conftest import source_frame
from tourlink import schema
from tourlink.frames import ISSUES_DTYPE, UPDATED_AT_GIVEN, SourceFrame


def _map(mapping: str, columns: dict[str, list], received_at, **kw) -> dict[str, pl.DataFrame]:
    return load_mapping(mapping).apply(source_frame(columns, **kw), received_at=received_at, source="test")


def _issues(frame: pl.DataFrame, row: int = 0) -> list[dict]:
    return frame["_issues"][row].to_list()


def test_output_has_every_canonical_field_typed_plus_lineage(received_at):
    out = _map("canonical:tour_group", {"group_code": ["T1"], "organizer_uscc": ["X"]}, received_at)["tour_group"]
    entity = schema.entity("tour_group")
    assert out.columns == [*entity.field_names, "_file", "_row", "_raw", "_issues", "_updated_at_given"]
    assert out.schema["start_date"] == pl.Date
    assert out.schema["submitted_at"] == pl.Datetime("us", "UTC")
    assert out.schema["destinations"] == pl.List(pl.String)
    assert out.schema["tourist_count"] == pl.Int64
    assert out.schema["_issues"] == ISSUES_DTYPE
    assert out.row(0, named=True) | {"_raw": None} == out.row(0, named=True) | {
        "group_code": "T1", "organizer_uscc": "X", "group_type": None, "_file": "upload.xlsx", "_row": 2, "_raw": None,
    }


def test_raw_is_the_source_row_as_received_with_original_column_names(received_at):
    out = _map("agency_template", {"统一社会信用代码 ": [" 91x "], "旅行社名称": ["甲 社"]}, received_at)
    assert out["travel_agency"]["_raw"][0] == {"统一社会信用代码 ": " 91x ", "旅行社名称": "甲 社"}


def test_code_lists_accept_canonical_values_labels_and_synonyms(received_at):
    out = _map("canonical:tour_group", {"group_type": ["OUTBOUND", "出境", "出境游", " 境内游 ", "inbound", "-"]},
               received_at)["tour_group"]
    assert out["group_type"].to_list() == ["OUTBOUND", "OUTBOUND", "OUTBOUND", "DOMESTIC", "INBOUND", None]
    assert out["_issues"].list.len().to_list() == [0] * 6


def test_a_value_outside_the_code_list_is_null_with_a_chinese_code_list_error(received_at):
    out = _map("canonical:tour_group", {"group_type": ["自由行"]}, received_at)["tour_group"]
    assert out["group_type"].to_list() == [None]
    assert _issues(out) == [{
        "rule": "CODE_LIST", "severity": "ERROR", "field": "group_type", "value": "自由行",
        "message": "团队类型“自由行”不在代码表中，应为：出境、国内、入境",
    }]


def test_sets_accept_labels_and_come_out_sorted_and_deduplicated(received_at):
    out = _map("agency_template", {"经营范围": ["出境旅游、国内旅游，入境;国内"]}, received_at)["travel_agency"]
    assert out["business_scope"].to_list() == [["DOMESTIC", "INBOUND", "OUTBOUND"]]
    bad = _map("canonical:travel_agency", {"business_scope": ["DOMESTIC|月球旅游"]}, received_at)["travel_agency"]
    assert bad["business_scope"].to_list() == [None]
    assert _issues(bad)[0]["rule"] == "CODE_LIST" and _issues(bad)[0]["value"] == "DOMESTIC|月球旅游"


def test_countries_from_chinese_names_and_iso_codes(received_at):
    out = _map("canonical:group_member", {"nationality": ["日本", "JP", "JPN", "香港", "火星"]}, received_at)
    frame = out["group_member"]
    assert frame["nationality"].to_list() == ["JPN", "JPN", "JPN", "HKG", None]
    assert _issues(frame, 4)[0]["rule"] == "CODE_LIST"
    assert _issues(frame, 4)[0]["message"].startswith("国籍“火星”")


def test_destinations_become_countries_provinces_or_division_codes(received_at):
    out = _map("canonical:tour_group", {"destinations": ["日本|KR|香港", "辽宁省|210200|大连", "JPN|JPN"]},
               received_at)["tour_group"]
    assert out["destinations"].to_list() == [["JPN", "KOR", "HKG"], ["21", "210200", "大连"], ["JPN", "JPN"]]


def test_provinces_from_names(received_at):
    out = _map("canonical:tour_group", {"source_province": ["辽宁", "辽宁省", "21", "火星省"]}, received_at)
    assert out["tour_group"]["source_province"].to_list() == ["21", "21", "21", None]


@pytest.mark.parametrize("text, value", [("12", 12), ("12.0", 12), ("1,200", 1200), (" 7 ", 7)])
def test_integers_accept_spreadsheet_forms(received_at, text, value):
    out = _map("canonical:tour_group", {"tourist_count": [text]}, received_at)["tour_group"]
    assert out["tourist_count"].to_list() == [value]


def test_a_value_of_the_wrong_type_is_a_type_error_naming_the_field_in_chinese(received_at):
    out = _map("canonical:tour_group", {"start_date": ["2024-13-01"], "tourist_count": ["十二"]}, received_at)
    frame = out["tour_group"]
    assert frame["start_date"].to_list() == [None] and frame["tourist_count"].to_list() == [None]
    messages = {i["field"]: (i["rule"], i["message"]) for i in _issues(frame)}
    assert messages["start_date"] == ("TYPE", "出发日期“2024-13-01”无法识别为日期，请使用YYYY-MM-DD")
    assert messages["tourist_count"] == ("TYPE", "游客人数“十二”无法识别为整数")


def test_decimals_strip_currency_and_thousands(received_at):
    out = _map("canonical:e_contract", {"price_total": ["¥1,234.50", "￥88", "12.345", "abc"]}, received_at)
    frame = out["e_contract"]
    assert frame.schema["price_total"] == pl.Decimal(14, 2)
    assert frame["price_total"].to_list()[:3] == [Decimal("1234.50"), Decimal("88.00"), Decimal("12.35")]
    assert frame["price_total"][3] is None and _issues(frame, 3)[0]["rule"] == "TYPE"


@pytest.mark.parametrize("text, value", [("是", True), ("否", False), ("Y", True), ("n", False), ("1", True),
                                         ("0", False), ("true", True), ("FALSE", False)])
def test_booleans(received_at, text, value):
    out = _map("canonical:guide_app_day", {"opened": [text]}, received_at)["guide_app_day"]
    assert out["opened"].to_list() == [value]


def test_timestamps_are_shanghai_unless_offset_and_stored_utc(received_at):
    out = _map("canonical:tour_group", {"updated_at": ["2024-05-01 08:00:00", "2024-05-01T08:00:00+09:00"]},
               received_at)["tour_group"]
    assert out["updated_at"].to_list() == [datetime(2024, 5, 1, 0, 0, tzinfo=UTC), datetime(2024, 4, 30, 23, 0, tzinfo=UTC)]


def test_submitted_at_defaults_to_received_at_when_the_column_is_absent(received_at):
    out = _map("canonical:tour_group", {"group_code": ["T1"]}, received_at)["tour_group"]
    assert out["submitted_at"].to_list() == [datetime(2024, 5, 2, 2, 0, tzinfo=UTC)]
    assert out["updated_at"].to_list() == [datetime(2024, 5, 2, 2, 0, tzinfo=UTC)]


def test_only_an_updated_at_the_source_sent_is_marked_given(received_at):
    # a receipt-time default is no version of the row: the warehouse never stores it for its own sake
    absent = _map("canonical:tour_group", {"group_code": ["T1"]}, received_at)["tour_group"]
    sent = _map("canonical:tour_group", {"updated_at": ["2024-05-01 08:00:00", None]}, received_at)["tour_group"]
    assert absent[UPDATED_AT_GIVEN].to_list() == [False]
    assert sent[UPDATED_AT_GIVEN].to_list() == [True, False]
    assert UPDATED_AT_GIVEN not in _map("canonical:group_member", {"seq_no": ["1"]}, received_at)["group_member"].columns


def test_a_blank_receipt_stamp_takes_the_receipt_time_like_an_absent_column(received_at):
    stamps = {"报送时间": [None, "", "2024-05-01 08:00:00", "昨天"], "更新时间": [" ", "-", None, None]}
    out = _map("roster_template", {"团号": ["T1", "T2", "T3", "T4"], **stamps}, received_at)["tour_group"]

    receipt = datetime(2024, 5, 2, 2, 0, tzinfo=UTC)
    assert out["submitted_at"].to_list() == [receipt, receipt, datetime(2024, 5, 1, 0, 0, tzinfo=UTC), None]
    assert out["updated_at"].to_list() == [receipt] * 4
    # A stamp that failed to parse is not replaced: it keeps its TYPE issue.
    assert [[i["rule"] for i in row] for row in out["_issues"].to_list()] == [[], [], [], ["TYPE"]]
    canonical = _map("canonical:tour_group", {"submitted_at": [None]}, received_at)["tour_group"]
    assert canonical["submitted_at"].to_list() == [receipt]


def test_a_blank_default_that_is_not_a_receipt_stamp_stays_blank(received_at):
    out = _map("agency_template", {"统一社会信用代码": ["X"], "单位类型": [None]}, received_at)["travel_agency"]
    assert out["unit_type"].to_list() == [None]


def test_nationality_defaults_to_china_for_mainland_documents_only(received_at):
    out = _map("canonical:group_member", {"doc_type": ["CN_RIC", "护照", "FOREIGN_PASSPORT", "港澳通行证"],
                                         "nationality": [None, "", None, "-"]}, received_at)["group_member"]
    assert out["nationality"].to_list() == ["CHN", "CHN", None, "CHN"]
    absent = _map("canonical:group_member", {"doc_type": ["身份证"]}, received_at)["group_member"]
    assert absent["nationality"].to_list() == ["CHN"]


def test_unit_type_defaults_to_head_office(received_at):
    out = _map("agency_template", {"统一社会信用代码": ["X"]}, received_at)["travel_agency"]
    assert out["unit_type"].to_list() == ["HEAD"]


def test_an_18_digit_id_stored_as_an_excel_number_is_rejected_never_guessed(received_at):
    out = _map("canonical:group_member",
               {"doc_no": ["2.10102E+17", "210102199001011234", "210102199001011000", "13800138000.0"],
                "mobile": ["13800138000.0", None, None, None]},
               received_at, numeric_cells={"doc_no": [True, False, True, True], "mobile": [True, False, False, False]})
    frame = out["group_member"]
    assert frame["doc_no"].to_list() == [None, "210102199001011234", None, "13800138000"]
    assert frame["mobile"].to_list() == ["13800138000", None, None, None]
    assert _issues(frame, 0) == [{
        "rule": "EXCEL_NUMERIC_ID", "severity": "ERROR", "field": "doc_no", "value": "2.10102E+17",
        "message": "证件号码单元格为数字格式，后几位已丢失（2.10102E+17），请将该列设为文本后重新填写",
    }]
    assert _issues(frame, 2)[0]["rule"] == "EXCEL_NUMERIC_ID"
    assert _issues(frame, 1) == [] and _issues(frame, 3) == []


def test_a_text_formatted_xlsx_column_maps_exactly_like_the_same_text_without_cell_flags(received_at):
    columns = {"doc_no": ["210102199001011234", "2.10102E+17", "ｅ１２３４ ５６７８", None] * 3,
               "group_code": ["TG-001"] * 12, "gender": ["女", "男", "X", None] * 3}
    all_text = {"doc_no": [False] * 12, "group_code": [False] * 12, "gender": [False] * 12}
    flagged = _map("canonical:group_member", columns, received_at, numeric_cells=all_text)["group_member"]
    plain = _map("canonical:group_member", columns, received_at)["group_member"]
    assert flagged.equals(plain)
    assert flagged["doc_no"].to_list()[:3] == ["210102199001011234", "2.10102E+17", "E12345678"]


def test_names_and_codes_are_normalised_per_field(received_at):
    out = _map("canonical:group_member", {"name": [" 阿卜杜 • 热合曼 "], "doc_no": ["ｅ１２３４ ５６７８"],
                                         "gender": ["女"]}, received_at)["group_member"]
    assert out.select("name", "doc_no", "gender").row(0) == ("阿卜杜·热合曼", "E12345678", "F")


INLINE_SOURCE = """
name: inline_teams
description: 测试用接口映射
entities:
  tour_group:
    fields:
      group_code: teamNo
      organizer_uscc: corpCode
      group_type: {from: teamType, map: {"1": OUTBOUND, "2": DOMESTIC, "3": INBOUND}}
      destinations: {from: destination, split: ","}
      start_date: {from: startDate, format: "%Y-%m-%d"}
      tourist_count: personCount
      updated_at: {from: updateTime}
  group_member:
    explode: tourists
    fields:
      organizer_uscc: corpCode
      group_code: teamNo
      seq_no: tourists.no
      name: tourists.name
      gender: {from: tourists.sex, map: {"1": M, "2": F}}
      birth_date: {from: tourists.birthday, format: "%Y%m%d"}
      doc_type: {from: tourists.card.type, map: {"1": CN_RIC, "2": CN_PASSPORT}}
      doc_no: tourists.card.number
      nationality: tourists.nation
  group_staff:
    explode: guides
    fields:
      organizer_uscc: corpCode
      group_code: teamNo
      guide_card_no: guides.guideNo
      role: {from: guides.guideType, map: {"1": LEADER, "2": NATIONAL_GUIDE, "3": LOCAL_GUIDE}}
  e_contract:
    fields:
      price_total: {from: amount, scale: 0.01}
      contract_type: {const: OUTBOUND}
"""


def _api_frame() -> SourceFrame:
    records = [
        {"teamNo": "T1", "corpCode": "91X", "teamType": 1, "destination": "日本,韩国", "startDate": "2024-05-01",
         "personCount": 2, "updateTime": "2024-04-30 12:00:00", "amount": 1234567,
         "tourists": [
             {"no": 1, "name": "张三", "sex": 1, "birthday": "19900101", "card": {"type": 1, "number": "210102199001011234"}, "nation": "中国"},
             {"no": 2, "name": "李四", "sex": 2, "birthday": "19910202", "card": {"type": 2, "number": "E12345678"}, "nation": "中国"},
         ],
         "guides": [{"guideNo": "L-2020-000001", "guideType": 1}]},
        {"teamNo": "T2", "corpCode": "91X", "teamType": 2, "destination": "辽宁", "startDate": "2024-06-01",
         "personCount": 1, "updateTime": "2024-04-30 13:00:00", "amount": 100,
         "tourists": [{"no": 1, "name": "王五", "sex": 1, "birthday": "19920303", "card": {"type": 1, "number": "X"}, "nation": "香港"}],
         "guides": []},
    ]
    data = pl.DataFrame(records).with_columns(pl.Series("__row", [1, 2], dtype=pl.Int64))
    return SourceFrame(data=data, file="teams page 1")


def test_an_inline_source_mapping_explodes_nested_records(tmp_path, received_at):
    path = tmp_path / "inline_teams.yaml"
    path.write_text(INLINE_SOURCE, encoding="utf-8")
    out = load_mapping(path).apply(_api_frame(), received_at=received_at, source="sandbox")
    groups, members, staff = out["tour_group"], out["group_member"], out["group_staff"]
    assert groups.select("group_code", "group_type", "destinations", "start_date", "tourist_count").rows() == [
        ("T1", "OUTBOUND", ["JPN", "KOR"], date(2024, 5, 1), 2),
        ("T2", "DOMESTIC", ["21"], date(2024, 6, 1), 1),
    ]
    assert members.select("group_code", "seq_no", "name", "gender", "birth_date", "doc_type", "doc_no", "nationality").rows() == [
        ("T1", 1, "张三", "M", date(1990, 1, 1), "CN_RIC", "210102199001011234", "CHN"),
        ("T1", 2, "李四", "F", date(1991, 2, 2), "CN_PASSPORT", "E12345678", "CHN"),
        ("T2", 1, "王五", "M", date(1992, 3, 3), "CN_RIC", "X", "HKG"),
    ]
    assert members["_row"].to_list() == [1, 1, 2]
    assert all(i == [] for i in members["_issues"].to_list())
    assert staff.select("group_code", "guide_card_no", "role").rows() == [("T1", "L-2020-000001", "LEADER")]
    assert out["e_contract"]["price_total"].to_list() == [Decimal("12345.67"), Decimal("1.00")]
    assert out["e_contract"]["contract_type"].to_list() == ["OUTBOUND", "OUTBOUND"]


def test_the_raw_of_an_exploded_row_holds_its_parent_and_its_own_element(tmp_path, received_at):
    path = tmp_path / "inline_teams.yaml"
    path.write_text(INLINE_SOURCE, encoding="utf-8")
    out = load_mapping(path).apply(_api_frame(), received_at=received_at, source="sandbox")
    raw = out["group_member"]["_raw"][1]
    assert raw["teamNo"] == "T1" and raw["tourists"]["name"] == "李四"


def test_a_mapping_naming_an_unknown_field_fails_when_loaded(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nentities:\n  tour_group:\n    fields:\n      team_no: teamNo\n", encoding="utf-8")
    with pytest.raises(ValueError, match="team_no"):
        load_mapping(path)


def test_nested_values_in_a_json_field_are_kept_as_json_text(tmp_path, received_at):
    import json
    path = tmp_path / "events.yaml"
    path.write_text("name: events\nentities:\n  licensing_event:\n    fields:\n      case_no: caseNo\n"
                    "      changed_fields: changes\n", encoding="utf-8")
    data = pl.DataFrame([{"caseNo": "A1", "changes": [{"field": "名称", "old": "甲", "new": "乙"}]}])
    out = load_mapping(path).apply(SourceFrame(data=data, file="events"), received_at=received_at, source="portal")
    event = out["licensing_event"]
    assert json.loads(event["changed_fields"][0]) == [{"field": "名称", "old": "甲", "new": "乙"}]
    assert event["_row"].to_list() == [1]


def test_a_column_that_is_empty_on_every_row_still_has_its_canonical_type(received_at):
    out = _map("canonical:tour_group", {"group_code": ["T1"] * 100, "destinations": [None] * 100,
                                        "start_date": [None] * 100}, received_at)["tour_group"]
    assert out.schema["destinations"] == pl.List(pl.String) and out.schema["start_date"] == pl.Date
    assert out["destinations"].null_count() == 100


@pytest.mark.parametrize("rows", [200, 2_000])
def test_repeated_and_unique_values_map_the_same(received_at, rows, monkeypatch):
    """Repeated values are mapped once per distinct value in a frame of `BY_VALUE_ROWS` rows or more,
    every row in a smaller one (an API page): the same rows either way."""
    import mappings.application as application

    data = {"group_type": ["出境", "国内", "入境游", "bad"] * (rows // 4), "destinations": ["日本、韩国|美国"] * rows,
            "group_code": [f"T{i}" for i in range(rows)]}  # fmt: skip
    out = _map("canonical:tour_group", data, received_at)["tour_group"]
    assert out["group_type"].to_list() == ["OUTBOUND", "DOMESTIC", "INBOUND", None] * (rows // 4)
    assert out["destinations"].to_list() == [["日本、韩国", "USA"]] * rows
    assert out["_issues"].list.len().to_list() == [0, 0, 0, 1] * (rows // 4)
    monkeypatch.setattr(application, "BY_VALUE_ROWS", 0 if rows < application.BY_VALUE_ROWS else 10**9)
    other_way = _map("canonical:tour_group", data, received_at)["tour_group"]
    assert_frame_equal(other_way, out)


def test_json_lists_fill_list_fields_and_nested_items_are_rejected_not_a_crash(received_at):
    """JSON Lines and Parquet carry lists natively: scalar items join like `|` text; items that are
    themselves lists or records cannot be list items (they used to crash `list.eval` casting)."""
    from validators import validate

    scalar = _map("canonical:tour_group", {"destinations": [["日本", "KR"], ["JPN", None], []]}, received_at)
    assert scalar["tour_group"]["destinations"].to_list() == [["JPN", "KOR"], ["JPN"], None]

    nested = _map("canonical:tour_group", {"destinations": [[["JPN"]]], "group_type": ["OUTBOUND"]}, received_at)
    assert nested["tour_group"]["destinations"].to_list() == [['[["JPN"]]']]  # kept as received, as JSON text
    checked = validate("tour_group", nested["tour_group"], today=date(2026, 4, 1))
    assert ("CODE_LIST", "destinations") in {(i["rule"], i["field"]) for i in _issues(checked)}

    records = _map("canonical:travel_agency", {"business_scope": [[{"code": "OUTBOUND"}]]}, received_at)
    agency = records["travel_agency"]
    assert [(i["rule"], i["value"]) for i in _issues(agency)] == [("CODE_LIST", '[{"code":"OUTBOUND"}]')]
    assert agency["business_scope"].to_list() == [None]
    labels = _map("canonical:travel_agency", {"business_scope": [["出境", "国内", "出境"]]}, received_at)
    assert labels["travel_agency"]["business_scope"].to_list() == [["DOMESTIC", "OUTBOUND"]]
