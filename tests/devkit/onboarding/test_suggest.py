"""The mapping suggester: where it finds records, and how names, pinyin, value shapes and code lists
decide a field."""

from __future__ import annotations

import json

import pytest
import yaml
from stdnum.cn import uscc as uscc_check

from devkit.onboarding.sample import columns, read_body, read_sample
from devkit.onboarding.suggest import code_map, initials, suggest, suggest_files
from mappings.engine import parse_mapping

USCC = "91110105" + "MA01ABCD" + "0"
USCC = USCC[:17] + uscc_check.calc_check_digit(USCC[:17])
RIC = "11010519491231002X"


def _sample(records: list[dict], name: str = "page.json"):
    return read_body(json.dumps({"code": 0, "data": {"total": len(records), "rows": records}}, ensure_ascii=False).encode(), name)


def test_pinyin_initials_are_derived_from_the_chinese_names() -> None:
    assert initials("证件号码") == "ZJHM"
    assert initials("出发日期") == "CFRQ"
    assert initials("团队号") == "TDH"
    assert initials("group_code") == ""


def test_the_record_list_is_the_largest_array_of_objects_and_child_arrays_are_explode_candidates() -> None:
    sample = _sample([{"teamNo": "T1", "tourists": [{"name": "王伟"}, {"name": "李娜"}]}, {"teamNo": "T2", "tourists": []}])
    assert sample.record_path == "data.rows"
    assert sample.envelope["data"]["total"] == 2
    cols = {c.path: c for c in columns(sample.records)}
    assert cols["tourists"].is_list and cols["tourists.name"].explode == "tourists"
    assert cols["tourists.name"].relative == "name"


def test_xml_records_are_the_shallowest_repeated_element_with_lists_inferred() -> None:
    body = ('<?xml version="1.0" encoding="GBK"?><R xmlns="urn:x"><Head><Code>0000</Code></Head><Body>'
            + "".join(f"<Team><TDH>T{i}</TDH><Guests><Guest><XM>王伟</XM></Guest><Guest><XM>李娜</XM></Guest></Guests></Team>" for i in range(2))
            + "</Body></R>").encode("gbk")
    sample = read_body(body, "teams.xml")
    assert sample.kind == "xml" and len(sample.records) == 2
    assert sample.records[0]["Guests"] == [{"XM": "王伟"}, {"XM": "李娜"}]


def test_pinyin_initial_columns_map_to_the_fields_whose_chinese_header_they_abbreviate() -> None:
    records = [{"TDH": f"T{i}", "ZTSDM": USCC, "CFRQ": "20261001", "FHRQ": "20261005", "RS": "2",
                "Guests": [{"XH": "1", "XM": "王伟", "XB": "男", "CSRQ": "19491231", "ZJHM": RIC, "SJHM": "13800138000"}]}
               for i in range(3)]
    s = suggest([_sample(records)], "legacy")
    member = s.entities["group_member"]
    assert s.source_of("tour_group", "group_code") == "TDH"
    assert s.source_of("tour_group", "start_date") == "CFRQ"
    assert member.explode == "Guests"
    assert {f: member.fields[f].source for f in ("name", "gender", "birth_date", "doc_no", "mobile")} == {
        "name": "Guests.XM", "gender": "Guests.XB", "birth_date": "Guests.CSRQ", "doc_no": "Guests.ZJHM", "mobile": "Guests.SJHM"}
    assert member.fields["birth_date"].directives == {"format": "%Y%m%d"}
    assert member.fields["organizer_uscc"].source == "ZTSDM", "the child carries the parent's key columns"


def test_value_shapes_decide_when_names_say_nothing() -> None:
    records = [{"tourCode": f"T{i}", "x1": USCC, "startDate": "2026-10-01", "endDate": "2026-10-03", "count": 2,
                "people": [{"p": "王伟", "q": RIC, "r": "13912345678"}]} for i in range(4)]
    s = suggest([_sample(records)], "shapes")
    assert s.source_of("tour_group", "organizer_uscc") == "x1"
    assert s.source_of("group_member", "doc_no") == "people.q"
    assert s.source_of("group_member", "mobile") == "people.r"


def test_code_lists_resolve_english_enums_and_label_initials_and_leave_unknown_codes_for_review() -> None:
    assert code_map("group_type", ["CJ", "GN", "RJ"]) == ({"CJ": "OUTBOUND", "GN": "DOMESTIC", "RJ": "INBOUND"}, [], 1.0)
    assert code_map("gender", ["男", "女"]) == (None, [], 1.0), "labels the engine accepts need no map"
    assert code_map("staff_role", ["leader", "local_guide"])[1] == []
    mapping, unresolved, share = code_map("group_type", ["1", "2", "3"])
    assert mapping is None and unresolved == ["1", "2", "3"] and share == 0


def test_unknown_codes_are_listed_for_review_in_the_yaml() -> None:
    records = [{"teamNo": f"T{i}", "teamType": str(1 + i % 3), "corpCode": USCC} for i in range(6)]
    s = suggest([_sample(records)], "codes")
    assert s.source_of("tour_group", "group_type") == "teamType"
    text = s.to_yaml()
    assert "codes 1, 2, 3 have no known meaning" in text
    spec = yaml.safe_load(text)
    assert any("teamType" in item for item in spec["unmatched"])
    assert "tour_group.start_date" in s.missing


def test_a_csv_template_with_chinese_headers_is_a_sample_too(tmp_path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(f"团号,组团社统一社会信用代码,姓名,证件号码\nT1,{USCC},王伟,{RIC}\nT1,{USCC},李娜,{RIC}\n", encoding="utf-8")
    sample = read_sample(path)
    assert sample.kind == "table" and len(sample.records) == 2
    s = suggest([sample], "roster")
    assert s.source_of("tour_group", "group_code") == "团号"
    assert s.entities["tour_group"].distinct, "group columns repeat on every member row"
    assert s.source_of("group_member", "name") == "姓名"
    assert s.source_of("group_member", "doc_no") == "证件号码"
    assert s.entities["group_member"].explode is None


def test_json_lines_samples_read_one_record_per_line(tmp_path) -> None:
    path = tmp_path / "groups.jsonl"
    path.write_text("\n".join(json.dumps({"group_no": f"G{i}", "pax": 3}) for i in range(3)), encoding="utf-8")
    s = suggest_files([path], "jsonl")
    assert s.source_of("tour_group", "tourist_count") == "pax"


def test_two_streams_gate_their_entities_on_a_column_only_their_stream_has() -> None:
    teams = _sample([{"teamNo": "T1", "teamType": "1", "corpCode": USCC, "startDate": "2026-10-01"}], "teams.json")
    contracts = _sample([{"contractNo": "C1", "teamNo": "T1", "corpCode": USCC, "contractType": "CJ"}], "contracts.json")
    s = suggest([teams, contracts], "two")
    assert s.entities["tour_group"].when == "teamType not null"
    assert s.entities["e_contract"].when == "contractNo not null"
    parse_mapping(yaml.safe_load(s.to_yaml()), "two")


@pytest.mark.parametrize("body", [b"{}", b"[1, 2]", b'{"a": {"b": 1}}'])
def test_a_body_without_records_is_refused_with_a_reason(body) -> None:
    from devkit.onboarding.sample import SampleError

    with pytest.raises(SampleError, match="no array of objects"):
        read_body(body, "empty.json")
