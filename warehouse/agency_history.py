"""Agency state as the fold of its licensing events (SPEC 4.1–4.2), and the state on any past date.

Portals deliver events late, twice and out of order, so the state of a subject (an agency, branch
or outlet, keyed by its USCC) is never patched in place: every time one of its events arrives, all
its events are replayed in `effective_date` order. Each subject has a handful of events, so the
replay itself is plain Python; reading and writing is set-based over all touched subjects at once.

The fold writes two things in one transaction:
- `travel_agency`: the current state (`updated_at` = newest `received_at` of the applied events,
  `_batch_no` = the batch that loaded the newest of them, so its source is the portal's);
- `agency_state_history`: one row per state version, `[valid_from, valid_to)`, with the case
  numbers that produced it, so "what was its scope on 2024-03-01" is a query (`agency_state_on`).

Decisions where SPEC is silent (written down here and in the tests):
- Events on the same effective date apply creation first, then grants and changes, suspension,
  resumption, cancellation and revocation, then by `received_at` and `case_no`: any delivery order
  gives the same state.
- An establishment licence covers domestic and inbound business (`DOMESTIC`, `INBOUND`); the feed
  carries no scope for branches and outlets, so they get the same base scope.
- A subject whose events start after its creation (it existed before the feed) is folded on top
  of its `travel_agency` row as found the first time: that row is kept as the baseline version
  (`derived_from` null) so later re-folds start from it again rather than from their own output.
- Events that need an existing subject but find none are kept (in `licensing_event`) and change
  nothing until the creating event arrives, which re-folds them.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from tourlink.schema import LIST_SEPARATOR
from warehouse import tables
from warehouse.state import write_state

APPLIED_DECISIONS = frozenset({"APPROVED", "FILED"})
BASE_SCOPE = ("DOMESTIC", "INBOUND")
BASELINE_FROM = date(1900, 1, 1)  # valid_from of a baseline version: "since before the feed knew it"

_CREATES = {"ESTABLISH": "HEAD", "BRANCH_FILE": "BRANCH", "OUTLET_FILE": "OUTLET"}
_STATUS = {
    "SUSPEND": "SUSPENDED",
    "RESUME": "ACTIVE",
    "CANCEL": "CANCELLED",
    "REVOKE": "REVOKED",
    "BRANCH_CANCEL": "CANCELLED",
    "OUTLET_CANCEL": "CANCELLED",
}
# Same-day order (see module docstring).
_DAY_RANK = {
    "ESTABLISH": 0, "BRANCH_FILE": 0, "OUTLET_FILE": 0,
    "OUTBOUND_GRANT": 1, "CHANGE": 1,
    "SUSPEND": 2, "RESUME": 3,
    "CANCEL": 4, "REVOKE": 4, "BRANCH_CANCEL": 4, "OUTLET_CANCEL": 4,
}
# travel_agency fields a CHANGE may carry (the portal's 名称/法定代表人/经营场所/联系电话 and a few more).
CHANGEABLE = frozenset({"name", "legal_rep", "address", "phone", "division_code", "licence_no", "parent_uscc"})


@dataclass(frozen=True)
class LicensingEvent:
    """One `licensing_event` row, as the fold needs it."""

    source_system: str
    case_no: str
    event_type: str
    subject_uscc: str
    decision: str
    effective_date: date
    received_at: datetime
    subject_name: str | None = None
    parent_uscc: str | None = None
    licence_no: str | None = None
    division_code: str | None = None
    changed_fields: dict[str, list[Any]] | None = None
    batch_no: int | None = field(default=None, compare=False)  # lineage: the batch that loaded it (`_batch_no`)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source_system, self.case_no, self.event_type)

    @property
    def applies(self) -> bool:
        return self.decision in APPLIED_DECISIONS

    def order(self) -> tuple:
        return (self.effective_date, _DAY_RANK.get(self.event_type, 9), self.received_at, self.case_no, self.event_type)


@dataclass(frozen=True)
class AgencyState:
    """The licensing-relevant part of a `travel_agency` row at one point in time."""

    uscc: str
    name: str | None
    unit_type: str
    division_code: str | None
    business_scope: tuple[str, ...]
    status: str
    parent_uscc: str | None = None
    licence_no: str | None = None
    outbound_granted_date: date | None = None
    established_date: date | None = None
    status_date: date | None = None
    legal_rep: str | None = None
    address: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class StateVersion:
    """A state and the period it held: `valid_from` inclusive, `valid_to` exclusive (None: still holds)."""

    state: AgencyState
    valid_from: date
    valid_to: date | None
    derived_from: tuple[str, ...]  # case numbers of the events of `valid_from` (empty: baseline)


def apply(state: AgencyState | None, event: LicensingEvent) -> AgencyState | None:
    """The state after one approved or filed event; other decisions and impossible events change nothing."""
    if not event.applies:
        return state
    kind = event.event_type
    if kind in _CREATES:
        before = state
        return AgencyState(
            uscc=event.subject_uscc,
            name=event.subject_name or (before.name if before else None),
            unit_type=_CREATES[kind],
            parent_uscc=event.parent_uscc if kind != "ESTABLISH" else None,
            licence_no=event.licence_no or (before.licence_no if before else None),
            division_code=event.division_code or (before.division_code if before else None),
            business_scope=BASE_SCOPE,
            established_date=event.effective_date,
            status="ACTIVE",
            status_date=event.effective_date,
            legal_rep=before.legal_rep if before else None,
            address=before.address if before else None,
            phone=before.phone if before else None,
        )
    if state is None:
        return None
    if kind == "OUTBOUND_GRANT":
        scope = tuple(sorted({*state.business_scope, "OUTBOUND"}))
        return dataclasses.replace(
            state,
            business_scope=scope,
            outbound_granted_date=event.effective_date,
            licence_no=event.licence_no or state.licence_no,
        )
    if kind == "CHANGE":
        changes = {
            f: pair[1] if isinstance(pair, list | tuple) and len(pair) == 2 else pair
            for f, pair in (event.changed_fields or {}).items()
            if f in CHANGEABLE
        }
        return dataclasses.replace(state, **changes)
    if kind in _STATUS:
        return dataclasses.replace(state, status=_STATUS[kind], status_date=event.effective_date)
    return state


def distinct_events(events: Iterable[LicensingEvent]) -> list[LicensingEvent]:
    """One event per natural key (the latest received wins), as the warehouse keeps them."""
    latest: dict[tuple[str, str, str], LicensingEvent] = {}
    for e in events:
        kept = latest.get(e.key)
        if kept is None or e.received_at >= kept.received_at:
            latest[e.key] = e
    return list(latest.values())


def fold(events: Iterable[LicensingEvent], baseline: AgencyState | None = None) -> list[StateVersion]:
    """Every state version of one subject, replaying its events in effective-date order."""
    ordered = sorted(distinct_events(events), key=LicensingEvent.order)
    versions: list[StateVersion] = []
    if baseline is not None:
        versions.append(StateVersion(baseline, BASELINE_FROM, None, ()))
    state = baseline
    by_day: dict[date, list[LicensingEvent]] = defaultdict(list)
    for e in ordered:
        by_day[e.effective_date].append(e)
    for day in sorted(by_day):
        applied = []
        for e in by_day[day]:
            after = apply(state, e)
            if after is not state:
                applied.append(e.case_no)
            state = after
        if not applied or state is None or (versions and versions[-1].state == state):
            continue
        if versions:
            versions[-1] = dataclasses.replace(versions[-1], valid_to=day)
        versions.append(StateVersion(state, day, None, tuple(dict.fromkeys(applied))))
    return versions


# --- warehouse side ----------------------------------------------------------------------------

_STATE_COLUMNS = [f.name for f in dataclasses.fields(AgencyState)]


# The `licensing_event` columns read as stored (`changed_fields` is JSON text, `batch_no` is `_batch_no`).
_EVENT_COLUMNS = [f.name for f in dataclasses.fields(LicensingEvent) if f.name not in ("changed_fields", "batch_no")]


def _event_from_row(row: Any) -> LicensingEvent:
    changed = row.changed_fields
    if isinstance(changed, str):
        try:
            changed = json.loads(changed)
        except ValueError:
            changed = None
    return LicensingEvent(
        **{c: getattr(row, c) for c in _EVENT_COLUMNS},
        changed_fields=changed if isinstance(changed, dict) else None,
        batch_no=row._batch_no,
    )


def _state_from_row(row: Any) -> AgencyState:
    values = {c: getattr(row, c) for c in _STATE_COLUMNS}
    scope = values["business_scope"]
    values["business_scope"] = tuple(sorted(s for s in (scope or "").split(LIST_SEPARATOR) if s))
    return AgencyState(**values)


def _chunks(values: Sequence[str], size: int = 1000) -> Iterable[Sequence[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _rows_in(conn: sa.Connection, table: sa.Table, column: sa.Column, keys: Sequence[str]) -> list[Any]:
    rows: list[Any] = []
    for chunk in _chunks(keys):
        rows += conn.execute(sa.select(table).where(column.in_(chunk))).all()
    return rows


def refold(conn: sa.Connection, subjects: Iterable[str]) -> int:
    """Recompute `travel_agency` and `agency_state_history` of these subjects from all their events.

    Runs inside the caller's transaction. Returns how many subjects got a state. A folded row's
    `_batch_no` is the batch that loaded its newest applied event.
    """
    keys = sorted({s for s in subjects if s})
    if not keys:
        return 0
    ev, ta, hist = tables.entity_tables["licensing_event"], tables.entity_tables["travel_agency"], tables.agency_state_history
    events: dict[str, list[LicensingEvent]] = defaultdict(list)
    for row in _rows_in(conn, ev, ev.c.subject_uscc, keys):
        events[row.subject_uscc].append(_event_from_row(row))
    current = {row.uscc: row for row in _rows_in(conn, ta, ta.c.uscc, keys)}
    history_rows = _rows_in(conn, hist, hist.c.uscc, keys)
    baselines = {r.uscc: _state_from_row(r) for r in history_rows if r.derived_from is None}
    has_history = {r.uscc for r in history_rows}

    agency_rows, version_rows = [], []
    for uscc in keys:
        subject_events = events.get(uscc, [])
        baseline = baselines.get(uscc)
        creates = any(e.applies and e.event_type in _CREATES for e in subject_events)
        if baseline is None and not creates and uscc not in has_history and uscc in current:
            baseline = _state_from_row(current[uscc])  # existed before the feed: keep it as found
        versions = fold(subject_events, baseline)
        for v in versions:
            version_rows.append(
                {
                    **_state_columns(v.state),
                    "valid_from": v.valid_from,
                    "valid_to": v.valid_to,
                    "derived_from": LIST_SEPARATOR.join(v.derived_from) if v.derived_from else None,
                }
            )
        applied = [e for e in distinct_events(subject_events) if e.applies]
        if not versions or not versions[-1].derived_from or not applied:
            continue
        kept = current.get(uscc)
        newest = max(applied, key=lambda e: (e.received_at, e.case_no))
        agency_rows.append(
            {
                **_state_columns(versions[-1].state),
                # facts the licensing feed does not carry survive a re-fold
                "deposit_amount": kept.deposit_amount if kept is not None else None,
                "insurance_end_date": kept.insurance_end_date if kept is not None else None,
                "updated_at": newest.received_at,
                "_batch_no": newest.batch_no,
                "_file_no": None,
                "_row": None,
            }
        )
    for chunk in _chunks(keys):
        conn.execute(hist.delete().where(hist.c.uscc.in_(chunk)))
    if version_rows:
        conn.execute(hist.insert(), version_rows)
    written = [r["uscc"] for r in agency_rows]
    for chunk in _chunks(written):
        conn.execute(ta.delete().where(ta.c.uscc.in_(chunk)))
    if agency_rows:
        conn.execute(ta.insert(), agency_rows)
    return len(agency_rows)


def _state_columns(state: AgencyState) -> dict[str, Any]:
    values = dataclasses.asdict(state)
    values["business_scope"] = LIST_SEPARATOR.join(state.business_scope)
    return values


FOLD_STREAM = "agency_fold"


def refold_pending(engine: sa.Engine, *, source: str, batch_id: str = "fold") -> int:
    """Re-fold every subject with events loaded since the last fold of this source.

    Keyed on the events' load time (the `started_at` of the batch that wrote them, a batch of this
    source) and a watermark written in the fold's own transaction, so a crash between loading
    events and folding them is repaired by the next run.
    """
    ev, wm, batch = tables.entity_tables["licensing_event"], tables.watermark, tables.batch
    with engine.begin() as conn:
        since = conn.execute(
            sa.select(wm.c.value).where(wm.c.source == source, wm.c.stream == FOLD_STREAM)
        ).scalar_one_or_none()
        loaded_at = batch.c.started_at.label("loaded_at")
        query = (
            sa.select(ev.c.subject_uscc, loaded_at)
            .join(batch, batch.c.batch_no == ev.c._batch_no)
            .where(batch.c.source == source)
        )
        if since:
            query = query.where(batch.c.started_at > datetime.fromisoformat(since))
        pending = conn.execute(query).all()
        if not pending:
            return 0
        folded = refold(conn, {r.subject_uscc for r in pending})
        newest = max(r.loaded_at for r in pending).isoformat()
        write_state(conn, source, FOLD_STREAM, newest, batch_id)
        return folded


def agency_state_on(conn: sa.Connection, uscc: str, on: date) -> AgencyState | None:
    """The agency's licensing state on a date (None: it did not exist yet, as far as the feed knows)."""
    hist = tables.agency_state_history
    row = conn.execute(
        sa.select(hist)
        .where(
            hist.c.uscc == uscc,
            hist.c.valid_from <= on,
            sa.or_(hist.c.valid_to.is_(None), hist.c.valid_to > on),
        )
        .order_by(hist.c.valid_from.desc())
        .limit(1)
    ).first()
    return _state_from_row(row) if row is not None else None
