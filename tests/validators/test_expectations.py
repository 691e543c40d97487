"""The Great Expectations suites (generated from the schemas) flag the same rows as the polars
engine, rule by rule, wherever both can express the rule."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from tests.validators.conftest import TODAY, frame, ric, uscc, wrong_check
from validators import validate

STAMP = datetime(2026, 1, 1, tzinfo=UTC)


def member(seq: int, **fields) -> dict:
    row = dict(organizer_uscc=uscc(), group_code="G1", seq_no=seq, name="张三", gender="M", birth_date=date(1975, 3, 15),
               doc_type="CN_RIC", doc_no=ric(seq=101), nationality="CHN", mobile="13800138000")
    row.update(fields)
    return row


def agency(**fields) -> dict:
    row = dict(uscc=uscc(), name="辽宁国旅", unit_type="HEAD", licence_no="L-LN-CJ00012", division_code="210102",
               business_scope=["DOMESTIC"], status="ACTIVE", updated_at=STAMP)
    row.update(fields)
    return row


def group(**fields) -> dict:
    row = dict(group_code="G1", organizer_uscc=uscc(), group_type="DOMESTIC", start_date=date(2026, 5, 1),
               end_date=date(2026, 5, 5), tourist_count=2, status="SUBMITTED", submitted_at=STAMP, updated_at=STAMP)
    row.update(fields)
    return row


SAMPLES = {
    "group_member": [
        member(1),
        member(2, doc_no="210102500101123", birth_date=date(1950, 1, 1)),
        member(3, name=None, seq_no=0, gender="X", mobile="+86 138-0013-8000"),
        member(4, doc_no="2101021975", mobile="12800138000"),
        member(5, doc_type="CN_PASSPORT", doc_no="EA1234567", nationality="JPN", mobile="0086 13800138000"),
        member(6, doc_type="CN_PASSPORT", doc_no="X1234567", nationality="ZZZ", mobile="138001380"),
        member(7, doc_type="EEP_HK_MO", doc_no="C12345678", birth_date=date(2027, 1, 1)),
        member(8, doc_type="EEP_HK_MO", doc_no="C1234", birth_date=None),
        member(9, doc_type="MTP_TW", doc_no="12345678", organizer_uscc=wrong_check(uscc())),
        member(10, doc_type="MTP_TW", doc_no="1234567", organizer_uscc="ABC"),
        member(11, doc_type="RP_HK_MO_TW", doc_no=ric(address="830000")),
        member(12, doc_type="RP_HK_MO_TW", doc_no=wrong_check(ric(address="830000"))),
        member(13, doc_type="FOREIGN_PASSPORT", doc_no="P1"),
        member(14, doc_type=None, doc_no=None),
    ],
    "travel_agency": [
        agency(),
        agency(licence_no="LN-1", division_code="110103"),
        agency(unit_type="BRANCH", licence_no=None, deposit_amount=Decimal("-5.00")),
        agency(status="SUSPENDED", division_code="2101", deposit_amount=Decimal("0.00")),
        agency(status="REVOKED", status_date=date(2026, 1, 1), name=None, unit_type="ZZ"),
    ],
    "tour_group": [
        group(),
        group(end_date=date(2026, 4, 1), tourist_count=0),
        group(group_type="OUTBOUND", destinations=["JPN"]),
        group(group_type="OUTBOUND", destinations=["JPN"], exit_port="大连", source_province="99"),
        group(organizer_uscc=wrong_check(uscc()), receiving_uscc="91-ABC"),
        group(start_date=None, status=None),
    ],
}


def polars_rows(df: pl.DataFrame, meta: dict) -> set[int]:
    doc_types = df["doc_type"].to_list() if "doc_type" in df.columns else [None] * len(df)
    return {
        n for n, issues in enumerate(df["_issues"].to_list())
        if any(i["rule"] == meta["rule"] and i["field"] == meta["field"] for i in issues)
        and ("doc_type" not in meta or doc_types[n] == meta["doc_type"])
    }


@pytest.mark.parametrize("entity", sorted(SAMPLES))
def test_gx_and_polars_flag_the_same_rows(entity):
    from validators.expectations import failing_rows

    validated = validate(entity, frame(entity, SAMPLES[entity]), today=TODAY)
    results = failing_rows(entity, validated, today=TODAY)
    compared = set()
    for meta, gx_rows in results:
        ours = polars_rows(validated, meta)
        if meta["exact"]:
            assert gx_rows == ours, meta
            if gx_rows:
                compared.add(meta["rule"])
        else:  # GX holds only the format part: whatever it rejects, polars rejects too
            assert gx_rows <= ours, meta
    assert len(compared) >= 3, compared  # the sample exercises the suite, not just passes it


def test_the_member_sample_exercises_every_expressible_rule():
    from validators.expectations import failing_rows

    validated = validate("group_member", frame("group_member", SAMPLES["group_member"]), today=TODAY)
    flagged = {m["rule"] for m, rows in failing_rows("group_member", validated, today=TODAY) if rows}
    assert {"REQUIRED", "CODE_LIST", "RIC_FORMAT", "DOC_FORMAT", "MOBILE_FORMAT", "POSITIVE", "NOT_FUTURE"} <= flagged


def test_data_docs_render_one_page_per_entity(tmp_path):
    from tourlink.schema import entities
    from validators.expectations import build_data_docs

    index = build_data_docs(tmp_path / "docs", today=TODAY)
    assert index.name == "index.html" and index.exists()
    pages = {p.stem for p in (tmp_path / "docs" / "expectations").glob("*.html")}
    assert pages == set(entities())
    assert "L-" in (tmp_path / "docs" / "expectations" / "travel_agency.html").read_text(encoding="utf-8")
