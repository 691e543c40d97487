"""A small warehouse built by hand, on SQLite and on PostgreSQL, for the indicator tests.

Rows are inserted with SQLAlchemy Core into `warehouse.tables` (the warehouse's own schema), so
each test states exactly the agencies, groups and contracts its figure depends on.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from warehouse import tables

T = tables.entity_tables
_LINEAGE = {"_batch_no": 1, "_file_no": None, "_row": None}


class Builder:
    """Inserts canonical rows with sensible defaults; every call is one committed row set."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def _insert(self, entity: str, rows: list[dict]) -> None:
        table = T[entity]
        cols = [c.name for c in table.c]
        full = [{c: {**_LINEAGE, **r}.get(c) for c in cols} for r in rows]
        with self.engine.begin() as conn:
            conn.execute(table.insert(), full)

    def agency(
        self,
        uscc: str,
        division: str = "210102",
        scope: str = "DOMESTIC|INBOUND|OUTBOUND",
        granted: date | None = date(2020, 1, 1),
        unit_type: str = "HEAD",
        parent: str | None = None,
        status: str = "ACTIVE",
        status_date: date | None = None,
        established: date | None = None,
        name: str | None = None,
    ) -> str:
        if "OUTBOUND" not in scope.split("|"):
            granted = None
        self._insert("travel_agency", [{
            "uscc": uscc, "name": name or f"旅行社{uscc}", "unit_type": unit_type, "parent_uscc": parent,
            "division_code": division, "business_scope": scope, "outbound_granted_date": granted,
            "established_date": established, "status": status, "status_date": status_date,
            "updated_at": datetime(2026, 1, 1),
        }])
        return uscc

    def group(
        self,
        organizer: str,
        code: str,
        group_type: str = "OUTBOUND",
        start: date = date(2026, 3, 10),
        end: date | None = None,
        submitted: datetime = datetime(2026, 3, 1, 2),
        status: str = "SUBMITTED",
        members: int | list[dict] = 0,
        tourist_count: int | None = None,
        receiving: str | None = None,
        source_province: str | None = None,
    ) -> tuple[str, str]:
        rows = members if isinstance(members, list) else [{} for _ in range(members)]
        self._insert("tour_group", [{
            "organizer_uscc": organizer, "group_code": code, "group_type": group_type, "receiving_uscc": receiving,
            "start_date": start, "end_date": end or start, "source_province": source_province,
            "tourist_count": tourist_count if tourist_count is not None else max(len(rows), 1),
            "status": status, "submitted_at": submitted, "updated_at": submitted,
        }])
        if rows:
            self.members(organizer, code, rows)
        return organizer, code

    def members(self, organizer: str, code: str, rows: list[dict], first_seq: int = 1) -> None:
        self._insert("group_member", [{
            "organizer_uscc": organizer, "group_code": code, "seq_no": first_seq + i,
            "name": r.get("name", f"游客{first_seq + i}"), "gender": r.get("gender", "M"),
            "birth_date": r.get("birth_date", date(1980, 1, 1 + i % 28)), "doc_type": r.get("doc_type", "CN_PASSPORT"),
            "doc_no": r.get("doc_no", f"E{hash((organizer, code, i)) % 10**8:08d}"),
            "nationality": r.get("nationality", "CHN"), "residence_province": r.get("residence_province"),
        } for i, r in enumerate(rows)])

    def contract(
        self,
        code: str,
        agency: str,
        contract_type: str = "OUTBOUND",
        registered: datetime = datetime(2026, 3, 2, 2),
        signed: datetime | None = datetime(2026, 3, 2, 3),
        status: str = "SIGNED",
        tourists: int | list[dict] = 1,
        group_code: str | None = None,
        start: date = date(2026, 3, 10),
        end: date | None = None,
    ) -> str:
        rows = tourists if isinstance(tourists, list) else [{} for _ in range(tourists)]
        self._insert("e_contract", [{
            "contract_code": code, "agency_uscc": agency, "contract_type": contract_type, "group_code": group_code,
            "start_date": start, "end_date": end or start, "tourist_count": max(len(rows), 1), "price_total": 1000,
            "status": status, "registered_at": registered, "signed_at": signed, "updated_at": registered,
        }])
        if rows:
            self._insert("contract_tourist", [{
                "contract_code": code, "seq_no": i + 1, "name": r.get("name", f"游客{i + 1}"),
                "gender": r.get("gender", "M"), "birth_date": r.get("birth_date", date(1980, 1, 1 + i % 28)),
                "doc_type": r.get("doc_type", "CN_RIC"), "doc_no": r.get("doc_no", f"X{code}{i}"),
                "nationality": r.get("nationality", "CHN"),
            } for i, r in enumerate(rows)])
        return code

    def staff(self, organizer: str, code: str, card: str, role: str = "LOCAL_GUIDE",
              service_from: date | None = None, service_to: date | None = None) -> None:
        self._insert("group_staff", [{"organizer_uscc": organizer, "group_code": code, "guide_card_no": card,
                                      "role": role, "service_from": service_from, "service_to": service_to}])

    def app_day(self, card: str, day: date, opened: bool = True) -> None:
        self._insert("guide_app_day", [{"guide_card_no": card, "date": day, "opened": opened}])

    def itinerary(self, organizer: str, code: str, days: list[tuple[date, str | None]]) -> None:
        self._insert("group_itinerary", [{"organizer_uscc": organizer, "group_code": code, "day_no": i + 1,
                                          "date": d, "province_code": p} for i, (d, p) in enumerate(days)])

    def key_city(self, year: int, code: str, name: str | None = None) -> None:
        self._insert("key_city", [{"year": year, "city_code": code, "name": name}])

    def key_agency(self, year: int, rank: int, uscc: str) -> None:
        self._insert("key_agency", [{"year": year, "rank": rank, "uscc": uscc}])

    def statistics(self, uscc: str, period: str, **values) -> None:
        self._insert("agency_statistics", [{"uscc": uscc, "period": period, **values}])


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """The same warehouse schema on embedded SQLite and on the real PostgreSQL (a fresh schema)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    eng = sa.create_engine(url)
    tables.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def wh(engine) -> Builder:
    return Builder(engine)
