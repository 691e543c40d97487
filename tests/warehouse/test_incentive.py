"""引客入辽 (SPEC section 6): eligible groups, filing deadlines and the origin of each tourist."""

from __future__ import annotations

from datetime import date, datetime

from tests.warehouse import test_indicators_builder as built
from warehouse.incentive import filing_deadline, incentive

engine, wh = built.engine, built.wh  # the warehouse fixtures, on SQLite and PostgreSQL

C = date(2026, 4, 20)


def shanghai_end_of(day: date) -> datetime:
    """Exclusive end of a Shanghai day, as naive UTC: 16:00 UTC of that day."""
    return datetime(day.year, day.month, day.day, 16)


def test_deadline_is_one_calendar_month_after_the_stay_clamped_to_month_end():
    assert filing_deadline(date(2027, 1, 29), date(2027, 1, 31), cutoff=date(2027, 1, 1)) == shanghai_end_of(date(2027, 2, 28))
    assert filing_deadline(date(2028, 1, 29), date(2028, 1, 31), cutoff=date(2028, 1, 1)) == shanghai_end_of(date(2028, 2, 29))
    assert filing_deadline(date(2026, 12, 30), date(2026, 12, 31), cutoff=C) == shanghai_end_of(date(2027, 1, 31))
    assert filing_deadline(date(2026, 5, 10), date(2026, 5, 12), cutoff=C) == shanghai_end_of(date(2026, 6, 12))


def test_deadline_for_a_stay_starting_by_the_cutoff_is_the_later_of_the_two():
    assert filing_deadline(date(2026, 2, 1), date(2026, 2, 3), cutoff=C) == shanghai_end_of(C)
    assert filing_deadline(date(2026, 4, 18), date(2026, 4, 30), cutoff=C) == shanghai_end_of(date(2026, 5, 30))
    assert filing_deadline(date(2026, 4, 21), date(2026, 4, 22), cutoff=C) == shanghai_end_of(date(2026, 5, 22))


def _received(wh, code, start, end=None, submitted=datetime(2026, 1, 1), members=None, receiving="LN", **kw):
    return wh.group("ORG", code, group_type="DOMESTIC", start=start, end=end or start, submitted=submitted,
                    members=members or [{"residence_province": "11"}], receiving=receiving, **kw)


def test_groups_filed_before_and_after_the_deadline(wh):
    wh.agency("LN", division="210102")
    wh.agency("ORG", division="110101")
    _received(wh, "EARLY_IN_TIME", date(2026, 2, 1), date(2026, 2, 3), submitted=datetime(2026, 4, 20, 15, 59))
    _received(wh, "EARLY_LATE", date(2026, 2, 1), date(2026, 2, 3), submitted=datetime(2026, 4, 20, 16, 0))
    _received(wh, "SPANS_CUTOFF", date(2026, 4, 18), date(2026, 4, 30), submitted=datetime(2026, 5, 25))
    _received(wh, "AFTER_IN_TIME", date(2026, 5, 10), date(2026, 5, 12), submitted=datetime(2026, 6, 12, 15, 59, 59))
    _received(wh, "AFTER_LATE", date(2026, 5, 10), date(2026, 5, 12), submitted=datetime(2026, 6, 12, 16, 0))
    _received(wh, "CLAMPED", date(2026, 8, 29), date(2026, 8, 31), submitted=datetime(2026, 9, 30, 15, 0))
    [ln] = incentive(wh.engine, 2026)
    late = {g.group_code: g.late for g in ln.groups}
    assert late == {"EARLY_IN_TIME": False, "EARLY_LATE": True, "SPANS_CUTOFF": False,
                    "AFTER_IN_TIME": False, "AFTER_LATE": True, "CLAMPED": False}
    assert (ln.eligible_groups, ln.late_groups, ln.out_of_province, ln.overseas) == (4, 2, 4, 0)
    # a later cut-off rescues the early group filed on 21 April
    [ln_later] = incentive(wh.engine, 2026, cutoff=date(2026, 4, 30))
    assert (ln_later.eligible_groups, ln_later.late_groups) == (5, 1)


def test_the_stay_comes_from_itinerary_days_in_the_province_else_the_group_dates(wh):
    wh.agency("LN", division="210102")
    wh.agency("ORG", division="110101")
    # crosses the new year; its days in Liaoning start in 2026
    _received(wh, "NEW_YEAR", date(2025, 12, 28), date(2026, 1, 3))
    wh.itinerary("ORG", "NEW_YEAR", [(date(2025, 12, 28), "11"), (date(2026, 1, 1), "21"), (date(2026, 1, 2), "21")])
    # starts in Liaoning in 2025: belongs to 2025
    _received(wh, "OLD_YEAR", date(2025, 12, 30), date(2026, 1, 2))
    wh.itinerary("ORG", "OLD_YEAR", [(date(2025, 12, 30), "21"), (date(2026, 1, 2), "11")])
    # no itinerary: the group's dates
    _received(wh, "NO_ITINERARY", date(2026, 3, 1))
    [ln] = incentive(wh.engine, 2026)
    stays = {g.group_code: (g.stay_from, g.stay_to) for g in ln.groups}
    assert stays == {"NEW_YEAR": (date(2026, 1, 1), date(2026, 1, 2)), "NO_ITINERARY": (date(2026, 3, 1), date(2026, 3, 1))}
    assert [g.group_code for g in incentive(wh.engine, 2025)[0].groups] == ["OLD_YEAR"]


def test_origin_comes_from_residence_then_source_province_then_the_id_prefix(wh):
    wh.agency("LN", division="210102")
    wh.agency("ORG", division="110101")
    members = [
        {"residence_province": "11"},  # out of province: residence
        {"residence_province": "21", "doc_type": "CN_RIC", "doc_no": "110101198001010011"},  # local: residence wins
        {"doc_type": "CN_RIC", "doc_no": "110101198001010011"},  # out of province: ID prefix
        {"doc_type": "CN_RIC", "doc_no": "210102198001010011"},  # local: ID prefix
        {"doc_type": "CN_PASSPORT", "doc_no": "E12345678"},  # cannot be known: not counted
        {"nationality": "JPN", "doc_type": "FOREIGN_PASSPORT", "doc_no": "TK1234567"},  # overseas
        {"nationality": "CHN", "doc_type": "HRP_HK_MO", "doc_no": "H12345678"},  # overseas by document
        {"nationality": "KOR", "residence_province": "21"},  # overseas wins over residence
    ]
    _received(wh, "MIXED", date(2026, 6, 1), members=members)
    _received(wh, "FROM_SHANGHAI", date(2026, 6, 1), source_province="31",
              members=[{"doc_type": "CN_PASSPORT"}, {"residence_province": "21"}, {"doc_type": "CN_RIC", "doc_no": "210102198001010011"}])
    _received(wh, "FROM_LIAONING", date(2026, 6, 1), source_province="21", members=[{"doc_type": "CN_PASSPORT"}])
    [ln] = incentive(wh.engine, 2026)
    per_group = {g.group_code: (g.out_of_province, g.overseas) for g in ln.groups}
    assert per_group == {"MIXED": (2, 3), "FROM_SHANGHAI": (2, 0), "FROM_LIAONING": (0, 0)}
    assert (ln.out_of_province, ln.overseas) == (4, 3)


def test_only_groups_received_by_the_provinces_head_offices_count_and_tourists_are_person_trips(wh):
    wh.agency("LN", division="210102")
    wh.agency("LN_BRANCH", division="210202", unit_type="BRANCH", parent="LN")
    wh.agency("BJ", division="110101")
    wh.agency("ORG", division="110101")
    traveller = [{"residence_province": "11", "doc_no": "E00000001"}]
    _received(wh, "VIA_BRANCH", date(2026, 6, 1), receiving="LN_BRANCH", members=traveller)
    _received(wh, "SAME_TRAVELLER_AGAIN", date(2026, 7, 1), members=traveller)
    _received(wh, "CANCELLED", date(2026, 6, 1), status="CANCELLED")
    _received(wh, "RECEIVED_IN_BEIJING", date(2026, 6, 1), receiving="BJ")
    _received(wh, "UNKNOWN_RECEIVER", date(2026, 6, 1), receiving="NOBODY")
    result = incentive(wh.engine, 2026)
    assert [(a.uscc, a.eligible_groups, a.out_of_province) for a in result] == [("LN", 2, 2)]
    assert {g.group_code for g in result[0].groups} == {"VIA_BRANCH", "SAME_TRAVELLER_AGAIN"}
    assert incentive(wh.engine, 2026, province="11")[0].uscc == "BJ"
