"""Row rules declared by the schemas: required fields, code lists, value rules, divisions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.validators.conftest import TODAY, frame, rule_ids, rules_of, uscc
from tourlink.schema import entities
from validators import catalogue, split, validate
from validators.rules import declared_rules


def agency(**fields) -> dict:
    row = dict(uscc=uscc(), name="辽宁国旅", unit_type="HEAD", licence_no="L-LN-CJ00012", division_code="210102",
               business_scope=["DOMESTIC"], status="ACTIVE", updated_at=datetime(2026, 1, 1, tzinfo=UTC))
    row.update(fields)
    return row


def group(**fields) -> dict:
    row = dict(group_code="G1", organizer_uscc=uscc(), group_type="DOMESTIC", start_date=date(2026, 5, 1),
               end_date=date(2026, 5, 5), tourist_count=2, status="SUBMITTED",
               submitted_at=datetime(2026, 4, 1, tzinfo=UTC), updated_at=datetime(2026, 4, 1, tzinfo=UTC))
    row.update(fields)
    return row


def check(name: str, *rows: dict, issues=None):
    return validate(name, frame(name, list(rows), issues), today=TODAY)


def test_a_complete_agency_has_no_issues():
    assert rule_ids(check("travel_agency", agency())) == set()


def test_required_fields_must_be_present():
    df = check("travel_agency", agency(name=None, status=None))
    assert rules_of(df) == {("REQUIRED", "name"), ("REQUIRED", "status")}


def test_conditional_fields_are_required_only_when_their_condition_holds():
    df = check("travel_agency",
               agency(unit_type="BRANCH", licence_no=None),  # parent_uscc needed, licence not
               agency(business_scope=["OUTBOUND"]),  # outbound grant date needed
               agency(status="SUSPENDED"))  # status date needed
    assert rules_of(df, 0) == {("REQUIRED", "parent_uscc")}
    assert rules_of(df, 1) == {("REQUIRED", "outbound_granted_date")}
    assert rules_of(df, 2) == {("REQUIRED", "status_date")}


def test_a_field_mapping_already_rejected_is_not_also_required():
    mapped = [{"rule": "TYPE", "severity": "ERROR", "field": "updated_at", "value": "昨天", "message": "更新时间无法识别"}]
    df = check("travel_agency", agency(updated_at=None), issues=[mapped])
    assert [i["rule"] for i in df["_issues"][0]] == ["TYPE"]


def test_taiwan_scope_needs_outbound():
    df = check("travel_agency", agency(business_scope=["DOMESTIC", "TAIWAN"]),
               agency(business_scope=["OUTBOUND", "TAIWAN"], outbound_granted_date=date(2020, 1, 1)))
    assert rule_ids(df, 0) == {"SCOPE_INCONSISTENT"}
    assert rule_ids(df, 1) == set()


@pytest.mark.parametrize(("code", "ok"), [("210102", True), ("659012", True), ("210000", True),
                                          ("110103", False), ("2101", False), ("999999", False)])
def test_division_codes_must_be_currently_valid(code, ok):
    # 110103 崇文区 was merged in 2010: fine inside an old ID number, wrong as an address today.
    df = check("travel_agency", agency(division_code=code))
    assert (rule_ids(df) == set()) is ok
    assert rule_ids(df) <= {"DIVISION_CODE"}


def test_an_unusual_licence_number_is_only_a_warning():
    df = check("travel_agency", agency(licence_no="LN-2020-1"), agency(licence_no="L-GD01685"))
    assert [(i["rule"], i["severity"]) for i in df["_issues"][0]] == [("LICENCE_FORMAT", "WARN")]
    assert rule_ids(df, 1) == set()


def test_end_date_before_start_date_is_rejected():
    df = check("tour_group", group(end_date=date(2026, 4, 30)), group(end_date=date(2026, 5, 1)))
    assert rules_of(df, 0) == {("DATE_ORDER", "end_date")}
    assert df["_issues"][0][0]["message"] == "返回日期早于出发日期，请核对"
    assert rule_ids(df, 1) == set()


def test_counts_must_be_positive_and_amounts_not_negative():
    df = check("tour_group", group(tourist_count=0))
    assert rules_of(df) == {("POSITIVE", "tourist_count")}
    df = check("travel_agency", agency(deposit_amount=Decimal("-1.00")), agency(deposit_amount=Decimal("0.00")))
    assert rules_of(df, 0) == {("NON_NEGATIVE", "deposit_amount")}
    assert rule_ids(df, 1) == set()


def test_birth_dates_cannot_be_in_the_future():
    row = dict(contract_code="C1", seq_no=1, name="张三", gender="M", doc_type="CN_PASSPORT",
               doc_no="EA1234567", nationality="CHN")
    df = check("contract_tourist", {**row, "birth_date": date(2026, 11, 24)}, {**row, "birth_date": TODAY})
    assert rules_of(df, 0) == {("NOT_FUTURE", "birth_date")}
    assert rule_ids(df, 1) == set()


@pytest.mark.parametrize(("period", "ok"), [("2024-Q1", True), ("2024-Q4", True), ("2024-Q5", False), ("2024Q1", False)])
def test_statistics_periods_are_year_and_quarter(period, ok):
    df = check("agency_statistics", dict(uscc=uscc(), period=period))
    assert (rule_ids(df) == set()) is ok


@pytest.mark.parametrize(("code", "ok"), [("2101", True), ("21010", False), ("21A1", False)])
def test_key_city_codes_are_four_digits(code, ok):
    df = check("key_city", dict(year=2025, city_code=code))
    assert (rule_ids(df) == set()) is ok


def test_outbound_destinations_are_countries_and_domestic_ones_are_regions():
    df = check("tour_group",
               group(group_type="OUTBOUND", destinations=["JPN", "KOR"], exit_port="大连"),
               group(group_type="OUTBOUND", destinations=["JPN", "210100"], exit_port="大连"),
               group(destinations=["210100", "11", "辽宁省"]),
               group(destinations=["JPN"]))
    assert [rule_ids(df, i) for i in range(4)] == [set(), {"CODE_LIST"}, set(), {"CODE_LIST"}]
    assert df["_issues"][1][0]["value"] == "JPN|210100"


def test_outbound_groups_need_destinations_and_an_exit_port():
    df = check("tour_group", group(group_type="OUTBOUND"))
    assert rules_of(df) == {("REQUIRED", "destinations"), ("REQUIRED", "exit_port")}


def test_values_outside_a_code_list_are_rejected_once():
    df = check("tour_group", group(status="UNKNOWN", source_province="99"))
    assert rules_of(df) == {("CODE_LIST", "status"), ("CODE_LIST", "source_province")}


def test_split_separates_rows_with_errors_from_rows_with_only_warnings():
    df = check("travel_agency", agency(), agency(licence_no="odd"), agency(name=None))
    good, bad = split(df)
    assert good["licence_no"].to_list() == ["L-LN-CJ00012", "odd"]
    assert bad["_row"].to_list() == [4]


def test_every_rule_a_schema_declares_has_a_validator_and_a_catalogue_entry():
    rules = catalogue()
    for ent in entities().values():
        for f in ent.fields:
            assert set(f.rules) <= declared_rules(), f"{ent.name}.{f.name}"
        assert set(ent.batch_rules) <= set(rules)
    for rule, info in rules.items():
        assert info.severity in {"ERROR", "WARN"} and info.name_zh and info.hint_zh and info.description, rule


def test_the_catalogue_covers_mapping_and_cross_check_rules():
    expected = {"TYPE", "CODE_LIST", "EXCEL_NUMERIC_ID", "MEMBER_COUNT", "LEADER_MISSING", "ORGANIZER_NOT_QUALIFIED",
                "UNKNOWN_AGENCY", "ROSTER_VS_CONTRACT", "STATS_VS_FILINGS", "RIC_LEGACY_15", "DUPLICATE_IN_GROUP",
                "GROUP_COLUMNS_DISAGREE", "KEY_CONFLICT", "ORPHAN", "PINYIN_MISSING", "CONTRACT_TOURIST_COUNT", "ITINERARY_OUTSIDE_DATES"}
    assert expected <= set(catalogue())
    assert catalogue()["RIC_COUNTY_UNKNOWN"].severity == "WARN"


def test_every_entity_validates_an_empty_frame():
    for name in entities():
        df = validate(name, frame(name, []), today=TODAY)
        assert df.is_empty() and "_issues" in df.columns


def test_a_status_date_is_not_demanded_when_the_status_itself_is_missing():
    df = check("travel_agency", agency(status=None))
    assert rules_of(df) == {("REQUIRED", "status")}


def test_a_code_mapping_already_rejected_is_not_reported_twice_and_mapping_issues_stay_first():
    mapped = [{"rule": "CODE_LIST", "severity": "ERROR", "field": "status", "value": "营业", "message": "团队状态不在代码表中"}]
    df = check("tour_group", group(status=None, tourist_count=0), issues=[mapped])
    assert [(i["rule"], i["field"]) for i in df["_issues"][0]] == [("CODE_LIST", "status"), ("POSITIVE", "tourist_count")]


def test_a_frame_without_optional_columns_or_issues_is_still_validated():
    import polars as pl

    df = validate("key_city", pl.DataFrame({"year": [2025], "city_code": ["21A1"]}), today=TODAY)
    assert rule_ids(df) == {"CITY_CODE"}
    assert df.columns[:2] == ["year", "city_code"]


def test_importing_the_validators_does_not_load_great_expectations():
    import subprocess
    import sys

    code = "import sys, validators; validators.catalogue(); print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_split_of_a_frame_without_issues_keeps_every_row_good_and_an_empty_bad_frame_of_the_same_shape():
    df = check("travel_agency", agency(), agency(uscc=uscc("91210102MA0XXXXX1")))
    good, bad = split(df)
    assert good.equals(df)
    assert bad.is_empty() and bad.schema == df.schema


@pytest.mark.parametrize("name", sorted(entities()))
def test_an_empty_frame_comes_back_with_the_columns_a_checked_frame_has(name):
    empty = check(name)
    assert empty.is_empty()
    assert empty.schema == validate(name, frame(name, [{}]), today=TODAY).schema
