"""Agency state is the fold of its licensing events in effective-date order (SPEC 4.2)."""

from __future__ import annotations

import json
import random
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from warehouse import agency_history, tables
from warehouse.agency_history import AgencyState, LicensingEvent, agency_state_on, apply, fold, refold

SOURCE = "gov_portal_test"
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(seq: int) -> str:
    """A USCC with a valid GB 32100 check character."""
    body = f"91210102MA{seq:07d}"
    total = sum(_ALPHABET.index(c) * w for c, w in zip(body, _WEIGHTS, strict=True))
    return body + _ALPHABET[(31 - total % 31) % 31]


HEAD, BRANCH = uscc(1), uscc(2)


def event(case_no: str, event_type: str, eff: str, *, decision: str = "APPROVED", subject: str = HEAD, **kw) -> LicensingEvent:
    return LicensingEvent(
        source_system=SOURCE,
        case_no=case_no,
        event_type=event_type,
        subject_uscc=subject,
        decision=decision,
        effective_date=date.fromisoformat(eff),
        received_at=kw.pop("received_at", datetime(2024, 12, 1, 8, 0)),
        **kw,
    )


LIFE = [
    event("C1", "ESTABLISH", "2020-03-01", subject_name="沈阳远航旅行社有限公司", licence_no="L-LN-00123", division_code="210102"),
    event("C2", "OUTBOUND_GRANT", "2022-06-15", licence_no="L-LN-CJ00123"),
    event("C3", "CHANGE", "2023-01-10", changed_fields={"name": ["沈阳远航旅行社有限公司", "辽宁远航国际旅行社有限公司"], "legal_rep": ["王一", "李二"]}),
    event("C4", "SUSPEND", "2023-08-01"),
    event("C5", "RESUME", "2023-11-01"),
    event("C6", "CHANGE", "2024-02-01", decision="REJECTED", changed_fields={"address": ["甲", "乙"]}),
    event("C7", "CANCEL", "2024-05-01", decision="WITHDRAWN"),
    event("B1", "BRANCH_FILE", "2021-04-01", decision="FILED", subject=BRANCH, parent_uscc=HEAD, subject_name="辽宁远航大连分社", division_code="210202"),
    event("B2", "BRANCH_CANCEL", "2024-03-01", decision="FILED", subject=BRANCH, parent_uscc=HEAD),
]


def in_effective_order(events: list[LicensingEvent]) -> AgencyState | None:
    """The oracle: events applied one by one, sorted by effective date."""
    state = None
    for e in sorted(agency_history.distinct_events(events), key=lambda e: e.effective_date):
        state = apply(state, e)
    return state


def test_an_agency_life_folds_to_the_state_the_spec_describes():
    state = fold([e for e in LIFE if e.subject_uscc == HEAD])[-1].state
    assert state.name == "辽宁远航国际旅行社有限公司"
    assert state.legal_rep == "李二"
    assert state.business_scope == ("DOMESTIC", "INBOUND", "OUTBOUND")
    assert state.outbound_granted_date == date(2022, 6, 15)
    assert state.licence_no == "L-LN-CJ00123"
    assert (state.status, state.status_date) == ("ACTIVE", date(2023, 11, 1))
    assert state.unit_type == "HEAD" and state.established_date == date(2020, 3, 1)


def test_rejected_and_withdrawn_events_change_nothing():
    applied = [e for e in LIFE if e.subject_uscc == HEAD and e.case_no not in ("C6", "C7")]
    assert fold([e for e in LIFE if e.subject_uscc == HEAD])[-1] == fold(applied)[-1]


@pytest.mark.parametrize("seed", range(8))
def test_shuffled_and_duplicated_deliveries_fold_to_the_effective_date_order_state(seed):
    rng = random.Random(seed)
    delivered = LIFE + rng.sample(LIFE, 4)
    rng.shuffle(delivered)
    for subject in (HEAD, BRANCH):
        mine = [e for e in delivered if e.subject_uscc == subject]
        assert fold(mine)[-1].state == in_effective_order(mine)


def test_a_branch_filing_creates_a_branch_row_under_its_head_and_its_cancel_closes_it():
    versions = fold([e for e in LIFE if e.subject_uscc == BRANCH])
    assert [(v.state.unit_type, v.state.parent_uscc, v.state.status) for v in versions] == [
        ("BRANCH", HEAD, "ACTIVE"),
        ("BRANCH", HEAD, "CANCELLED"),
    ]
    assert versions[0].valid_to == date(2024, 3, 1) == versions[1].valid_from


@pytest.fixture
def conn(pg_url):
    engine = sa.create_engine(pg_url)
    tables.metadata.create_all(engine)
    with engine.connect() as c:
        yield c
    engine.dispose()


def _store(conn: sa.Connection, events: list[LicensingEvent]) -> None:
    """Events as the warehouse keeps them: one row per natural key."""
    table = tables.entity_tables["licensing_event"]
    for e in agency_history.distinct_events(events):
        row = {
            "source_system": e.source_system, "case_no": e.case_no, "event_type": e.event_type,
            "subject_uscc": e.subject_uscc, "subject_name": e.subject_name, "parent_uscc": e.parent_uscc,
            "licence_no": e.licence_no, "division_code": e.division_code, "decision": e.decision,
            "effective_date": e.effective_date, "authority_division_code": "210000",
            "changed_fields": json.dumps(e.changed_fields, ensure_ascii=False) if e.changed_fields else None,
            "received_at": e.received_at, "_batch_no": 7,
        }
        conn.execute(table.delete().where(table.c.case_no == e.case_no, table.c.event_type == e.event_type))
        conn.execute(table.insert().values(**row))


def _agency(conn: sa.Connection, key: str):
    ta = tables.entity_tables["travel_agency"]
    return conn.execute(sa.select(ta).where(ta.c.uscc == key)).one()


def test_the_warehouse_fold_writes_current_state_and_lineage(conn):
    late = event("C8", "CHANGE", "2024-06-01", changed_fields={"phone": ["024-1", "024-88886666"]}, received_at=datetime(2024, 12, 3, 9, 30))
    _store(conn, [*LIFE, late])
    assert refold(conn, [HEAD, BRANCH]) == 2
    head = _agency(conn, HEAD)
    assert (head.name, head.business_scope, head.status, head.phone) == ("辽宁远航国际旅行社有限公司", "DOMESTIC|INBOUND|OUTBOUND", "ACTIVE", "024-88886666")
    assert head.updated_at == datetime(2024, 12, 3, 9, 30)  # newest received_at of the applied events
    assert head._batch_no == 7  # lineage: the batch that loaded the newest applied event
    branch = _agency(conn, BRANCH)
    assert (branch.unit_type, branch.parent_uscc, branch.status, branch.status_date) == ("BRANCH", HEAD, "CANCELLED", date(2024, 3, 1))


def test_a_late_event_with_an_earlier_effective_date_refolds_history(conn):
    _store(conn, LIFE)
    refold(conn, [HEAD])
    assert agency_state_on(conn, HEAD, date(2021, 6, 1)).address is None
    # arrives last, effective before the outbound grant and the name change
    late = event("C0", "CHANGE", "2021-01-05", changed_fields={"address": [None, "沈阳市和平区南京北街1号"]}, received_at=datetime(2024, 12, 9))
    _store(conn, [late])
    refold(conn, [HEAD])
    assert agency_state_on(conn, HEAD, date(2021, 6, 1)).address == "沈阳市和平区南京北街1号"
    assert _agency(conn, HEAD).address == "沈阳市和平区南京北街1号"
    assert _agency(conn, HEAD).name == "辽宁远航国际旅行社有限公司"  # later change still wins
    assert agency_state_on(conn, HEAD, date(2024, 12, 31)) == fold([*LIFE[:7], late])[-1].state


def test_state_history_answers_what_the_agency_was_on_a_date(conn):
    _store(conn, LIFE)
    refold(conn, [HEAD, BRANCH])
    assert agency_state_on(conn, HEAD, date(2019, 12, 31)) is None  # not yet established
    assert agency_state_on(conn, HEAD, date(2022, 6, 14)).business_scope == ("DOMESTIC", "INBOUND")
    assert agency_state_on(conn, HEAD, date(2022, 6, 15)).business_scope == ("DOMESTIC", "INBOUND", "OUTBOUND")
    assert agency_state_on(conn, HEAD, date(2023, 9, 1)).status == "SUSPENDED"
    assert agency_state_on(conn, HEAD, date(2023, 12, 1)).status == "ACTIVE"
    assert agency_state_on(conn, BRANCH, date(2024, 2, 29)).status == "ACTIVE"
    assert agency_state_on(conn, BRANCH, date(2024, 3, 1)).status == "CANCELLED"
    hist = tables.agency_state_history
    derived = conn.execute(sa.select(hist.c.derived_from).where(hist.c.uscc == HEAD).order_by(hist.c.valid_from)).scalars().all()
    assert derived == ["C1", "C2", "C3", "C4", "C5"]


def test_events_on_an_agency_known_before_the_feed_fold_on_top_of_its_row(conn):
    ta = tables.entity_tables["travel_agency"]
    old = uscc(3)
    conn.execute(ta.insert().values(
        uscc=old, name="大连老字号旅行社", unit_type="HEAD", licence_no="L-LN-00007", division_code="210202",
        business_scope="DOMESTIC|INBOUND", status="ACTIVE", deposit_amount=200000, updated_at=datetime(2019, 1, 1),
        _batch_no=1,
    ))
    grant = event("D1", "OUTBOUND_GRANT", "2024-01-02", subject=old)
    change = event("D2", "CHANGE", "2023-05-05", subject=old, changed_fields={"name": ["大连老字号旅行社", "大连老字号国际旅行社"]})
    _store(conn, [grant])
    refold(conn, [old])
    _store(conn, [change])  # late, earlier-dated: the re-fold starts again from the row as first found
    refold(conn, [old])
    row = _agency(conn, old)
    assert (row.name, row.business_scope, row.deposit_amount) == ("大连老字号国际旅行社", "DOMESTIC|INBOUND|OUTBOUND", 200000)
    assert agency_state_on(conn, old, date(2023, 1, 1)).name == "大连老字号旅行社"
    assert agency_state_on(conn, old, date(2023, 6, 1)).business_scope == ("DOMESTIC", "INBOUND")
