"""Filings shared by the pipeline's tests: one Shenyang agency and its tour groups as canonical CSV."""

from __future__ import annotations

import sqlalchemy as sa
from stdnum.cn import uscc

ORGANIZER = "91210102MA0U7654" + "3"
ORGANIZER = ORGANIZER[:17] + uscc.calc_check_digit(ORGANIZER[:17])
GROUP_HEADER = "group_code,organizer_uscc,group_type,start_date,end_date,destinations,tourist_count,status,submitted_at,updated_at\n"
AGENCY_CSV = (
    "uscc,name,unit_type,licence_no,division_code,business_scope,status,updated_at\n"
    f"{ORGANIZER},沈阳远航国际旅行社,HEAD,L-LN-CJ00012,210102,DOMESTIC,ACTIVE,2026-01-01 09:00\n"
)


def group_line(code: str, tourists: int) -> str:
    return f"{code},{ORGANIZER},DOMESTIC,2026-03-10,2026-03-14,210200,{tourists},SUBMITTED,2026-03-01 10:00,2026-03-01 10:00\n"


def rows(wh, sql: str) -> list[tuple]:
    with wh.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql)).all()]
