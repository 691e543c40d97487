"""Cross-checks (SPEC section 7): findings per agency and month, never quarantine."""

from __future__ import annotations

import json
from datetime import date, datetime

import sqlalchemy as sa

from tests.warehouse import test_indicators_builder as built
from warehouse.cross_checks import cross_checks, roster_coverage, store_findings
from warehouse.tables import finding

engine, wh = built.engine, built.wh  # the warehouse fixtures, on SQLite and PostgreSQL


def rules(findings, rule) -> dict:
    return {f.natural_key.get("group_code") or f.natural_key.get("contract_code") or f.natural_key.get("period"): f
            for f in findings if f.rule == rule}


def test_member_count_and_leader_missing(wh):
    wh.agency("A")
    wh.group("A", "TOO_FEW", members=2, tourist_count=3)
    wh.group("A", "RIGHT", members=2)
    wh.staff("A", "RIGHT", "L-1", role="LEADER")
    wh.group("A", "GUIDE_ONLY", members=1)
    wh.staff("A", "GUIDE_ONLY", "D-1", role="NATIONAL_GUIDE")
    wh.group("A", "DOMESTIC", group_type="DOMESTIC", members=1)
    wh.group("A", "CANCELLED", status="CANCELLED", members=1, tourist_count=9)
    found = cross_checks(wh.engine, "2026-03")
    counts = rules(found, "MEMBER_COUNT")
    assert set(counts) == {"TOO_FEW"}
    assert counts["TOO_FEW"].detail == {"tourist_count": 3, "members": 2}
    assert counts["TOO_FEW"].agency_uscc == "A" and counts["TOO_FEW"].month == "2026-03"
    assert set(rules(found, "LEADER_MISSING")) == {"TOO_FEW", "GUIDE_ONLY"}


def test_organizer_not_qualified_on_the_start_date(wh):
    wh.agency("OK")
    wh.agency("DOMESTIC_ONLY", scope="DOMESTIC")
    wh.agency("GRANTED_LATER", granted=date(2026, 3, 11))
    wh.agency("SUSPENDED_BEFORE", status="SUSPENDED", status_date=date(2026, 3, 1))
    wh.agency("CANCELLED_AFTER", status="CANCELLED", status_date=date(2026, 3, 20))
    wh.agency("BRANCH", unit_type="BRANCH", parent="DOMESTIC_ONLY", scope="DOMESTIC|OUTBOUND")
    for a in ("OK", "DOMESTIC_ONLY", "GRANTED_LATER", "SUSPENDED_BEFORE", "CANCELLED_AFTER", "BRANCH"):
        wh.group(a, "G-" + a, start=date(2026, 3, 10))
    found = rules(cross_checks(wh.engine, "2026-03"), "ORGANIZER_NOT_QUALIFIED")
    assert {k: f.detail["reason"] for k, f in found.items()} == {
        "G-DOMESTIC_ONLY": "NO_OUTBOUND_SCOPE", "G-GRANTED_LATER": "GRANTED_LATER",
        "G-SUSPENDED_BEFORE": "SUSPENDED", "G-BRANCH": "NO_OUTBOUND_SCOPE",
    }
    assert found["G-BRANCH"].agency_uscc == "DOMESTIC_ONLY"  # judged by the head's qualification


def test_unknown_agencies_in_groups_contracts_and_statistics(wh):
    wh.agency("A")
    wh.group("NOBODY", "G1")
    wh.group("A", "G2", receiving="NO_RECEIVER")
    wh.contract("C1", "NO_SIGNER", registered=datetime(2026, 3, 31, 16, 30))  # April in Shanghai
    wh.statistics("NO_STATS_UNIT", "2026-Q1", outbound_organised_pax=10)
    wh.statistics("A", "2026-Q1")
    found = cross_checks(wh.engine)
    unknown = {(f.entity, f.agency_uscc if f.entity != "tour_group" else f.detail["role"], f.month)
               for f in found if f.rule == "UNKNOWN_AGENCY"}
    assert unknown == {
        ("tour_group", "organizer", "2026-03"), ("tour_group", "receiving", "2026-03"),
        ("e_contract", "NO_SIGNER", "2026-04"), ("agency_statistics", "NO_STATS_UNIT", "2026-03"),
    }
    in_march = {f.entity for f in cross_checks(wh.engine, "2026-03") if f.rule == "UNKNOWN_AGENCY"}
    assert in_march == {"tour_group", "agency_statistics"}
    # unknown agencies have no region: only the receiving one (known organizer) shows in a province
    assert [f.detail["role"] for f in cross_checks(wh.engine, "2026-03", "21") if f.rule == "UNKNOWN_AGENCY"] == ["receiving"]


def test_roster_vs_contract_matches_by_document_then_name_and_birth_date(wh):
    wh.agency("A")
    wh.agency("A_OUTLET", unit_type="OUTLET", parent="A")
    wh.group("A", "G1", start=date(2026, 3, 10), end=date(2026, 3, 15), members=[
        {"name": "张三", "doc_no": "E11111111"},  # 1: by passport number
        {"name": "李四", "birth_date": date(1990, 5, 6), "gender": "F", "doc_no": "E22222222"},  # 2: name + birth
        {"name": "王五", "birth_date": date(1991, 1, 1), "gender": "M", "doc_no": "E33333333"},  # 3: gender differs
        {"name": "赵六", "doc_no": "E44444444"},  # 4: no contract
    ])
    wh.contract("C1", "A_OUTLET", group_code="G1", tourists=[
        {"name": "张三", "doc_type": "CN_PASSPORT", "doc_no": "e11111111 "},
        {"name": "李四", "birth_date": date(1990, 5, 6), "gender": "F", "doc_no": "210102199005060020"},
        {"name": "王五", "birth_date": date(1991, 1, 1), "gender": "F", "doc_no": "210102199101010021"},
    ])
    wh.contract("C-VOID", "A", group_code="G1", status="CANCELLED", tourists=[{"name": "赵六", "doc_no": "E44444444"}])
    [g] = roster_coverage(wh.engine, "2026-03")
    assert (g.members, g.matched, str(g.coverage)) == (4, 2, "0.500")
    assert g.members_without_contract == [3, 4]
    assert g.tourists_not_on_roster == [("C1", 3)]
    [f] = [f for f in cross_checks(wh.engine, "2026-03") if f.rule == "ROSTER_VS_CONTRACT"]
    assert f.detail["coverage"] == 0.5 and f.detail["contracts"] == ["C1"]
    assert "E4444" not in json.dumps(f.as_dict(), ensure_ascii=False)  # no document numbers in findings


def test_contracts_without_a_group_code_pair_by_overlapping_dates(wh):
    wh.agency("A")
    wh.group("A", "G1", start=date(2026, 3, 10), end=date(2026, 3, 15), members=[{"doc_no": "E1"}, {"doc_no": "E2"}])
    wh.staff("A", "G1", "L-1", role="LEADER")
    wh.contract("C-OVERLAP", "A", start=date(2026, 3, 15), tourists=[{"doc_no": "E1"}, {"doc_no": "E2"}])
    wh.contract("C-LATER", "A", start=date(2026, 3, 16), tourists=[{"doc_no": "E9"}])
    wh.contract("C-OTHER-GROUP", "A", group_code="G9", tourists=[{"doc_no": "E8"}])
    [g] = roster_coverage(wh.engine, "2026-03")
    assert (g.matched, g.contracts, g.tourists_not_on_roster) == (2, ["C-OVERLAP"], [])
    assert [f.rule for f in cross_checks(wh.engine, "2026-03")] == []


def test_statistics_vs_filings_per_quarter(wh):
    wh.agency("A")
    wh.agency("A_BR1", unit_type="BRANCH", parent="A")
    wh.agency("A_BR_GONE", unit_type="BRANCH", parent="A", status="CANCELLED", status_date=date(2026, 2, 1))
    wh.agency("A_BR_NEW", unit_type="BRANCH", parent="A", established=date(2026, 4, 2))
    wh.agency("A_OUT1", unit_type="OUTLET", parent="A")
    wh.group("A", "G1", start=date(2026, 1, 10), members=7)
    wh.group("A_BR1", "G2", start=date(2026, 3, 31), members=3)
    wh.group("A", "G-Q2", start=date(2026, 4, 1), members=50)
    wh.statistics("A", "2026-Q1", outbound_organised_pax=8, branch_count=2, outlet_count=1)
    wh.agency("GONE", status="CANCELLED", status_date=date(2025, 12, 1))
    wh.statistics("GONE", "2026-Q1")
    wh.agency("FINE")
    wh.statistics("FINE", "2026-Q1", outbound_organised_pax=0, branch_count=0)
    found = [f for f in cross_checks(wh.engine, "2026-03") if f.rule == "STATS_VS_FILINGS"]
    checks = {(f.agency_uscc, f.detail["check"]): f.detail for f in found}
    assert set(checks) == {("A", "OUTBOUND_VOLUME_GAP"), ("A", "BRANCH_COUNT_MISMATCH"), ("GONE", "CANCELLED_AGENCY")}
    assert checks[("A", "OUTBOUND_VOLUME_GAP")]["members"] == 10
    assert checks[("A", "OUTBOUND_VOLUME_GAP")]["ratio"] == 1.25
    assert checks[("A", "BRANCH_COUNT_MISMATCH")] == {"check": "BRANCH_COUNT_MISMATCH", "reported": 2, "on_platform": 1}
    assert not [f for f in cross_checks(wh.engine, "2026-02") if f.rule == "STATS_VS_FILINGS"]


def test_stored_findings_replace_the_months_previous_cross_check_findings(wh):
    wh.agency("A")
    wh.group("A", "G1", group_type="DOMESTIC", members=1, tourist_count=2)
    wh.group("A", "G-APRIL", group_type="DOMESTIC", start=date(2026, 4, 2), members=1, tourist_count=2)
    assert store_findings(wh.engine, cross_checks(wh.engine, "2026-03"), "2026-03") == 1
    assert store_findings(wh.engine, cross_checks(wh.engine, "2026-04"), "2026-04") == 1
    wh.members("A", "G1", [{}], first_seq=2)  # the roster is completed: March has no finding any more
    assert store_findings(wh.engine, cross_checks(wh.engine, "2026-03"), "2026-03") == 0
    with wh.engine.connect() as conn:
        stored = conn.execute(sa.select(finding.c.month, finding.c.rule, finding.c.natural_key)).all()
    assert [(m, r, json.loads(k)["group_code"]) for m, r, k in stored] == [("2026-04", "MEMBER_COUNT", "G-APRIL")]


def test_organizer_qualification_is_judged_by_the_licensing_history_on_the_start_date(wh):
    """A suspension since lifted still disqualifies the groups that started during it; a grant the
    history dates after the start disqualifies even though the agency is qualified today."""
    from warehouse import tables

    wh.agency("RESUMED", status="ACTIVE", status_date=date(2026, 3, 20))
    wh.agency("GRANTED_IN_MARCH", granted=date(2026, 3, 15))
    wh.agency("NO_HISTORY")
    base = dict(unit_type="HEAD", division_code="210102", business_scope="DOMESTIC|INBOUND|OUTBOUND",
                outbound_granted_date=date(2020, 1, 1), established_date=date(2010, 1, 1), status_date=None)
    versions = [
        dict(base, uscc="RESUMED", valid_from=date(2010, 1, 1), valid_to=date(2026, 3, 5), status="ACTIVE"),
        dict(base, uscc="RESUMED", valid_from=date(2026, 3, 5), valid_to=date(2026, 3, 20), status="SUSPENDED",
             status_date=date(2026, 3, 5)),
        dict(base, uscc="RESUMED", valid_from=date(2026, 3, 20), valid_to=None, status="ACTIVE",
             status_date=date(2026, 3, 20)),
        dict(base, uscc="GRANTED_IN_MARCH", valid_from=date(2010, 1, 1), valid_to=date(2026, 3, 15), status="ACTIVE",
             business_scope="DOMESTIC|INBOUND", outbound_granted_date=None),
        dict(base, uscc="GRANTED_IN_MARCH", valid_from=date(2026, 3, 15), valid_to=None, status="ACTIVE",
             outbound_granted_date=date(2026, 3, 15)),
    ]
    with wh.engine.begin() as conn:
        conn.execute(sa.insert(tables.agency_state_history), versions)
    wh.group("RESUMED", "DURING_SUSPENSION", start=date(2026, 3, 10))
    wh.group("RESUMED", "AFTER_RESUMPTION", start=date(2026, 3, 25))
    wh.group("RESUMED", "BEFORE_SUSPENSION", start=date(2026, 3, 2))
    wh.group("GRANTED_IN_MARCH", "BEFORE_GRANT", start=date(2026, 3, 10))
    wh.group("GRANTED_IN_MARCH", "AFTER_GRANT", start=date(2026, 3, 16))
    wh.group("NO_HISTORY", "PLAIN", start=date(2026, 3, 10))
    found = rules(cross_checks(wh.engine, "2026-03"), "ORGANIZER_NOT_QUALIFIED")
    assert {k: f.detail["reason"] for k, f in found.items()} == {
        "DURING_SUSPENSION": "SUSPENDED", "BEFORE_GRANT": "NO_OUTBOUND_SCOPE"}
    assert "2026-03-05" in found["DURING_SUSPENSION"].message
