"""The failure report's content: what a steward of a region sees, counted and masked."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from tests.report import quarantine_sample as qs
from tourlink.report.failures import Scope, load_report, region_prefix

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


def _report(engine, **scope):
    with engine.connect() as conn:
        return load_report(conn, Scope(**scope), now=NOW)


def test_the_national_report_holds_every_open_failure(sample_engine):
    report = _report(sample_engine)
    assert report.entry_count == len(qs.ENTRIES)
    assert len(report.failures) == sum(len(e[9]) for e in qs.ENTRIES)


def test_a_city_report_holds_only_that_citys_rows_and_totals(sample_engine):
    report = _report(sample_engine, region="2101")
    agencies = {f.agency_uscc for f in report.failures}
    assert agencies == {qs.SHENYANG_A, qs.SHENYANG_B, qs.UNREGISTERED}
    assert {c.key for c in report.by_agency} == agencies
    # totals, per rule and in the trend, count Shenyang only: Dalian's and Hebei's RIC_CHECKSUM are not there
    assert {c.key: c.failures for c in report.by_rule}["RIC_CHECKSUM"] == 1
    assert sum(report.trend_total) == 4
    assert set(report.trend_by_agency) == agencies


def test_a_province_report_holds_all_its_cities_but_not_other_provinces(sample_engine):
    report = _report(sample_engine, region="210000")
    assert qs.DALIAN in {f.agency_uscc for f in report.failures}
    assert qs.HEBEI not in {f.agency_uscc for f in report.failures}
    assert _report(sample_engine, region="13").entry_count == 1


def test_an_entrys_own_division_code_scopes_it_when_the_agency_is_unknown(sample_engine):
    report = _report(sample_engine, region="210104")
    assert [f.agency_uscc for f in report.failures] == [qs.UNREGISTERED]
    assert report.failures[0].agency_name == "（未登记旅行社）"


def test_a_day_report_holds_the_entries_quarantined_that_day_in_shanghai_time(sample_engine):
    report = _report(sample_engine, day=date(2026, 3, 5))
    assert report.entry_count == len(qs.ENTRIES) - 1
    assert _report(sample_engine, day=date(2026, 3, 3)).entry_count == 1
    assert report.trend_days[-1] == "2026-03-05"
    assert report.trend_total[-1] == 5 and report.trend_total[-3] == 1


def test_identifiers_and_phones_are_masked_and_messages_too(sample_engine):
    report = _report(sample_engine, region="2101")
    ric = next(f for f in report.failures if f.rule == "RIC_CHECKSUM")
    assert ric.value == "2101**********123X"
    assert qs.FULL_ID not in (ric.message or "")
    assert ric.field_zh == "证件号码"
    mobile = next(f for f in report.failures if f.rule == "MOBILE_FORMAT")
    assert mobile.value == "138****5678"
    assert ric.file_name == "团队名单0305.xlsx" and ric.row == 5


def test_waived_and_resolved_entries_leave_the_open_report(sample_engine, ):
    with sample_engine.begin() as conn:
        conn.execute(sa.text("update quarantine set status = 'waived' where agency_uscc = :a"), {"a": qs.SHENYANG_B})
    assert qs.SHENYANG_B not in {f.agency_uscc for f in _report(sample_engine).failures}
    assert qs.SHENYANG_B in {f.agency_uscc for f in _report(sample_engine, statuses=("waived",)).failures}


@pytest.mark.parametrize("bad", ["2", "21010", "abc", "21%", "2101' or '1'='1"])
def test_a_region_must_be_a_2_4_or_6_digit_code(bad):
    with pytest.raises(ValueError):
        region_prefix(bad)


def test_the_report_reads_a_postgresql_warehouse(pg_url):
    engine = sa.create_engine(pg_url)
    try:
        qs.seed(engine)
        report = _report(engine, region="2102")
        assert [f.agency_uscc for f in report.failures] == [qs.DALIAN]
    finally:
        engine.dispose()
