"""Indicators 1–8 (SPEC section 6): exact numerators and denominators on hand-built warehouses.

Every test runs on SQLite and on PostgreSQL (the `engine` fixture is parametrised).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from tests.warehouse import test_indicators_builder as built
from warehouse.indicators import compute_all_regions, compute_indicators, key_agencies, key_cities, ratio
from warehouse.regions import Month, normalise_region

engine, wh = built.engine, built.wh  # the warehouse fixtures, on SQLite and PostgreSQL

MARCH = "2026-03"


def figs(engine, month=MARCH, region=None) -> dict[int, tuple]:
    """{indicator: (numerator, denominator, value)}"""
    return {f.indicator: (f.numerator, f.denominator, f.value) for f in compute_indicators(engine, month, region)}


def test_region_codes_of_two_four_or_six_digits_are_normalised():
    assert normalise_region(None) == "CN"
    assert normalise_region("210000") == "21"
    assert normalise_region("210100") == "2101"
    assert normalise_region("2101") == "2101"
    assert normalise_region("21") == "21"
    with pytest.raises(ValueError):
        normalise_region("21a")


def test_month_bounds_are_shanghai_midnights_in_utc():
    m = Month.parse(MARCH)
    assert (m.lo, m.hi) == (datetime(2026, 2, 28, 16), datetime(2026, 3, 31, 16))
    assert (m.first, m.last) == (date(2026, 3, 1), date(2026, 3, 31))


def test_values_round_half_up_not_to_even():
    assert ratio(1, 16) == Decimal("6.3")  # 6.25: float round() would give 6.2
    assert ratio(2, 3) == Decimal("66.7")
    assert ratio(1, 0) is None


def test_empty_warehouse_gives_zero_counts_and_null_ratios(wh):
    f = figs(wh.engine)
    assert f[1] == (0, None, Decimal(0))
    assert f[2] == (0, 0, None)
    assert f[8] == (0, 0, None)


def test_groups_of_a_branch_count_for_the_heads_region(wh):
    wh.agency("HEAD_LN", division="210102")
    wh.agency("BR_SH", division="310101", unit_type="BRANCH", parent="HEAD_LN")
    wh.group("BR_SH", "G1", members=2)
    wh.contract("C1", "BR_SH")
    assert figs(wh.engine, region="21")[1] == (1, None, Decimal(1))
    assert figs(wh.engine, region="21")[2] == (1, 1, Decimal("100.0"))
    assert figs(wh.engine, region="210100")[3] == (1, None, Decimal(1))
    shanghai = figs(wh.engine, region="31")
    assert shanghai[1] == (0, None, Decimal(0))
    assert shanghai[2] == (0, 0, None)  # a branch is not an agency of A_out
    assert figs(wh.engine)[2] == (1, 1, Decimal("100.0"))


def test_an_outbound_grant_on_the_months_last_day_counts_that_month(wh):
    wh.agency("LAST_DAY", granted=date(2026, 3, 31))
    wh.agency("NEXT_MONTH", granted=date(2026, 4, 1))
    wh.agency("DOMESTIC_ONLY", scope="DOMESTIC")
    wh.agency("BORDER_ONLY", scope="DOMESTIC|BORDER")
    wh.group("LAST_DAY", "G1")
    wh.group("NEXT_MONTH", "G2")
    f = figs(wh.engine)
    assert f[1] == (1, None, Decimal(1))  # NEXT_MONTH is not in A_out: its group is not counted in 1
    assert f[2] == (1, 1, Decimal("100.0"))  # A_out = {LAST_DAY}; border-only is not outbound
    assert f[5] == (2, None, Decimal(2))  # both are in A_all
    assert figs(wh.engine, month="2026-02")[2] == (0, 0, None)


def test_agencies_cancelled_before_during_and_after_the_month(wh):
    wh.agency("BEFORE", status="CANCELLED", status_date=date(2026, 2, 28))
    wh.agency("REVOKED_BEFORE", status="REVOKED", status_date=date(2026, 1, 5))
    wh.agency("FIRST_DAY", status="CANCELLED", status_date=date(2026, 3, 1))
    wh.agency("DURING", status="CANCELLED", status_date=date(2026, 3, 15))
    wh.agency("AFTER", status="REVOKED", status_date=date(2026, 4, 2))
    wh.agency("SUSPENDED", status="SUSPENDED", status_date=date(2026, 1, 1))
    wh.agency("NOT_YET", established=date(2026, 4, 1))
    wh.agency("MONTH_END", established=date(2026, 3, 31))
    for a in ("BEFORE", "REVOKED_BEFORE", "DURING", "AFTER", "NOT_YET"):
        wh.group(a, "G-" + a, group_type="DOMESTIC")
    f = figs(wh.engine)
    # A_all = FIRST_DAY, DURING, AFTER, SUSPENDED, MONTH_END
    assert f[2] == (0, 5, Decimal("0.0"))
    assert f[5] == (2, None, Decimal(2))  # DURING and AFTER


def test_a_utc_timestamp_already_next_month_in_shanghai_counts_next_month(wh):
    wh.agency("A")
    wh.group("A", "LATE_MARCH_UTC", submitted=datetime(2026, 3, 31, 16, 30))  # 2026-04-01 00:30 in Shanghai
    wh.group("A", "MARCH_1_SHANGHAI", submitted=datetime(2026, 2, 28, 16, 0))  # 2026-03-01 00:00 in Shanghai
    wh.group("A", "MARCH_31_SHANGHAI", submitted=datetime(2026, 3, 31, 15, 59, 59))
    wh.contract("C-APRIL", "A", registered=datetime(2026, 3, 31, 16, 0), signed=datetime(2026, 3, 31, 16, 0))
    march, april = figs(wh.engine), figs(wh.engine, month="2026-04")
    assert march[1][0] == 2 and april[1][0] == 1
    assert march[3][0] == 0 and april[3][0] == 1
    assert march[7][0] == 0 and april[7][0] == 1


def test_cancelled_groups_and_contracts_are_not_counted(wh):
    wh.agency("A")
    wh.group("A", "G-OK", members=2)
    wh.group("A", "G-CANCELLED", status="CANCELLED", members=3)
    wh.group("A", "G-RETURNED", status="RETURNED", members=1)
    wh.contract("C-OK", "A", tourists=2)
    wh.contract("C-VOID", "A", status="CANCELLED", tourists=4)
    wh.contract("C-TERMINATED", "A", status="TERMINATED", tourists=1)
    f = figs(wh.engine)
    assert f[1][0] == 2 and f[5][0] == 2
    assert f[3][0] == 2 and f[6][0] == 2
    assert f[7][:2] == (3, 3)


def test_contract_types_taiwan_one_day_and_b2b(wh):
    wh.agency("A")
    wh.agency("DOM", scope="DOMESTIC")
    for code, kind in [("C-OUT", "OUTBOUND"), ("C-TW", "TAIWAN"), ("C-DOM", "DOMESTIC"), ("C-1D", "ONE_DAY"), ("C-B2B", "B2B")]:
        wh.contract(code, "A", contract_type=kind)
    wh.contract("D-TW", "DOM", contract_type="TAIWAN")  # not an outbound agency: 6 only
    wh.contract("D-1D", "DOM", contract_type="ONE_DAY")
    wh.group("A", "G-IN", group_type="INBOUND")
    wh.group("A", "G-DOM", group_type="DOMESTIC")
    f = figs(wh.engine)
    assert f[3] == (2, None, Decimal(2))
    assert f[4] == (1, 1, Decimal("100.0"))
    assert f[6] == (6, None, Decimal(6))
    assert f[5] == (1, None, Decimal(1))  # inbound groups are not in 5
    assert f[7][0] == 2  # one tourist on each outbound contract of A


def test_indicator_7_is_not_capped_above_100_percent(wh):
    wh.agency("A")
    wh.group("A", "G-MARCH", start=date(2026, 3, 20), submitted=datetime(2026, 2, 1), members=3)
    wh.group("A", "G-APRIL", start=date(2026, 4, 1), members=4)
    wh.group("A", "G-DOMESTIC", group_type="DOMESTIC", members=4)
    wh.contract("C1", "A", tourists=3, signed=datetime(2026, 3, 5))
    wh.contract("C2", "A", tourists=2, signed=datetime(2026, 3, 6), contract_type="TAIWAN")
    wh.contract("C-FEB", "A", tourists=6, signed=datetime(2026, 2, 20))
    wh.contract("C-UNSIGNED", "A", tourists=6, signed=None, status="REGISTERED")
    assert figs(wh.engine)[7] == (5, 3, Decimal("166.7"))


def test_guide_app_days_count_only_inside_the_service_window_and_the_month(wh):
    wh.agency("A")
    wh.agency("B", division="310101")
    wh.group("A", "G1", start=date(2026, 3, 10), end=date(2026, 3, 12))
    wh.group("A", "G-FEB", group_type="DOMESTIC", start=date(2026, 2, 25), end=date(2026, 3, 2))
    wh.group("A", "G-X", status="CANCELLED", start=date(2026, 3, 10))
    wh.group("B", "G-B", group_type="INBOUND", start=date(2026, 3, 10))
    wh.staff("A", "G1", "D-IN", role="NATIONAL_GUIDE")
    wh.app_day("D-IN", date(2026, 3, 11))
    wh.staff("A", "G1", "D-OUTSIDE")
    wh.app_day("D-OUTSIDE", date(2026, 3, 20))  # after the group's window
    wh.staff("A", "G1", "L-LEADER", role="LEADER")
    wh.app_day("L-LEADER", date(2026, 3, 10))
    wh.staff("A", "G1", "D-CLOSED")
    wh.app_day("D-CLOSED", date(2026, 3, 11), opened=False)
    wh.staff("A", "G-FEB", "D-FEB")
    wh.app_day("D-FEB", date(2026, 2, 26))  # in the window, not in the month
    wh.staff("A", "G1", "D-OWN", service_from=date(2026, 3, 14), service_to=date(2026, 3, 15))
    wh.app_day("D-OWN", date(2026, 3, 15))  # outside the group's dates but inside the guide's own window
    wh.staff("A", "G-X", "D-CANCELLED")
    wh.app_day("D-CANCELLED", date(2026, 3, 10))
    wh.staff("B", "G-B", "D-IN")  # the same guide in another region
    assert figs(wh.engine, region="21")[8] == (3, 6, Decimal("50.0"))
    assert figs(wh.engine, region="31")[8] == (0, 1, Decimal("0.0"))
    assert figs(wh.engine)[8] == (3, 6, Decimal("50.0"))  # D-IN counted once nationally


def test_all_regions_figures_cover_nation_provinces_and_prefectures(wh):
    wh.agency("A", division="210102")
    wh.agency("B", division="210203")
    wh.agency("C", division="310101")
    wh.group("A", "G1")
    figures = compute_all_regions(wh.engine, MARCH)
    regions = sorted({f.region for f in figures})
    assert regions == ["21", "2101", "2102", "31", "3101", "CN"]
    by = {(f.region, f.indicator): (f.numerator, f.denominator) for f in figures}
    assert by[("CN", 2)] == (1, 3) and by[("21", 2)] == (1, 2) and by[("2102", 2)] == (0, 1)
    assert all(by[(r, 2)] == (figs(wh.engine, region=r)[2][:2]) for r in regions)


def test_key_cities_are_ranked_by_indicator_2(wh):
    wh.agency("SY1", division="210102")
    wh.agency("SY2", division="210103")
    wh.agency("DL1", division="210202")
    wh.group("SY1", "G1")
    wh.group("DL1", "G2")
    wh.key_city(2026, "2101", "沈阳")
    wh.key_city(2026, "2102", "大连")
    wh.key_city(2026, "2103", "鞍山")  # no agencies: indicator 2 is null, ranked last
    wh.key_city(2025, "2104", "抚顺")
    cities = key_cities(wh.engine, MARCH, "210000")
    assert [(c.city_code, c.rank) for c in cities] == [("2102", 1), ("2101", 2), ("2103", 3)]
    assert cities[0].figures[1].numerator == 1 and cities[0].figures[1].denominator == 1
    assert cities[1].figures[1].value == Decimal("50.0")
    assert cities[2].figures[1].value is None


def test_key_agencies_report_their_own_figures_and_whether_they_filed(wh):
    wh.agency("K1")
    wh.agency("K1_BRANCH", unit_type="BRANCH", parent="K1", division="110101")
    wh.agency("K2", division="310101")
    wh.agency("OTHER")
    wh.group("K1_BRANCH", "G1", members=2)
    wh.group("OTHER", "G2", members=5)
    wh.contract("C1", "K1", tourists=4)
    wh.key_agency(2026, 1, "K1")
    wh.key_agency(2026, 2, "K2")
    wh.key_agency(2026, 3, "UNKNOWN")
    ka = key_agencies(wh.engine, MARCH)
    assert [(k.uscc, k.rank, k.filed) for k in ka] == [("K1", 1, True), ("K2", 2, False), ("UNKNOWN", 3, False)]
    k1 = {f.indicator: (f.numerator, f.denominator) for f in ka[0].figures}
    assert k1 == {1: (1, None), 3: (1, None), 5: (1, None), 6: (1, None), 7: (4, 2)}
    assert [k.uscc for k in key_agencies(wh.engine, MARCH, "21")] == ["K1"]


def test_sqlite_and_postgresql_publish_identical_figures(tmp_path, pg_url):
    import sqlalchemy as sa

    from warehouse import tables

    results = []
    for url in (f"sqlite:///{tmp_path / 'w.db'}", pg_url):
        eng = sa.create_engine(url)
        tables.metadata.create_all(eng)
        b = built.Builder(eng)
        b.agency("A", division="210102")
        b.agency("A_BR", division="310101", unit_type="BRANCH", parent="A")
        b.agency("B", division="210202", granted=date(2026, 3, 31))
        b.agency("C", division="310101", status="CANCELLED", status_date=date(2026, 3, 2))
        b.group("A_BR", "G1", members=3, submitted=datetime(2026, 2, 28, 16))
        b.group("B", "G2", group_type="DOMESTIC", members=2, submitted=datetime(2026, 3, 31, 16))
        b.group("C", "G3", members=4)
        b.contract("K1", "A_BR", tourists=2)
        b.contract("K2", "C", contract_type="ONE_DAY")
        b.staff("A_BR", "G1", "L-1", role="LEADER")
        b.app_day("L-1", date(2026, 3, 10))
        results.append([f.as_dict() for f in compute_all_regions(eng, MARCH)])
        eng.dispose()
    assert results[0] == results[1]
    assert {(f["region"], f["indicator"]): f["value"] for f in results[0]}[("CN", 7)] == 28.6  # 2 signed / 7 on rosters (C was cancelled during March: still in A_out)


def test_indicator_8_uses_the_guides_own_window_and_only_agencies_in_a_all(wh):
    wh.agency("A")
    wh.agency("GONE", status="CANCELLED", status_date=date(2026, 2, 1))
    # the group spans February and March, but this guide only served in February: not on duty in March
    wh.group("A", "G-SPAN", group_type="DOMESTIC", start=date(2026, 2, 25), end=date(2026, 3, 5))
    wh.staff("A", "G-SPAN", "D-FEB-ONLY", service_from=date(2026, 2, 25), service_to=date(2026, 2, 28))
    wh.app_day("D-FEB-ONLY", date(2026, 3, 2))
    wh.staff("A", "G-SPAN", "D-MARCH", service_from=date(2026, 3, 1), service_to=date(2026, 3, 5))
    wh.app_day("D-MARCH", date(2026, 2, 27))  # opened before their own window: not counted
    wh.staff("A", "G-SPAN", "L-DEFAULT", role="LEADER")  # no own window: the group's dates
    wh.app_day("L-DEFAULT", date(2026, 3, 5))  # the window's last day, inside the month
    # an agency cancelled before March is not in A_all: its guides are in no denominator
    wh.group("GONE", "G-GONE", group_type="DOMESTIC", start=date(2026, 3, 10))
    wh.staff("GONE", "G-GONE", "D-GONE")
    wh.app_day("D-GONE", date(2026, 3, 10))
    assert figs(wh.engine)[8] == (1, 2, Decimal("50.0"))
    # February: D-FEB-ONLY and L-DEFAULT were on duty (D-MARCH was not); neither opened inside Feb and their window
    assert figs(wh.engine, month="2026-02")[8] == (0, 2, Decimal("0.0"))


def test_ratios_round_half_up_on_real_counts(wh):
    for i in range(8):
        wh.agency(f"A{i}")
    wh.group("A0", "G1")  # 1 of 8 outbound agencies filed: 12.5 exactly
    for i in range(1, 16):
        wh.agency(f"B{i}", division="310101")
    wh.group("B1", "G2")  # 1 of 15 in Shanghai: 6.666… → 6.7
    assert figs(wh.engine, region="21")[2] == (1, 8, Decimal("12.5"))
    assert figs(wh.engine, region="31")[2] == (1, 15, Decimal("6.7"))
    assert figs(wh.engine)[2] == (2, 23, Decimal("8.7"))  # 8.695… → 8.7
