"""Benchmark: indicators 1–8 for one month over 100,000 groups / 1,000,000 members on PostgreSQL.

Generates a synthetic warehouse with COPY into a fresh schema (dropped afterwards unless --keep),
runs ANALYZE, then times `compute_indicators` for the nation and a province and
`compute_all_regions` (what a snapshot publishes). Reference: "seconds, not minutes" (issue 3).

    .venv/bin/python bench/indicators.py [--groups 100000] [--members-per-group 10] [--url URL] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from warehouse import tables  # noqa: E402
from warehouse.indicators import compute_all_regions, compute_indicators  # noqa: E402

LINEAGE = (1, None, None)  # tables.LINEAGE_COLUMNS: _batch_no, _file_no, _row
PROVINCES = ["11", "12", "13", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
             "45", "46", "50", "51", "52", "53", "61", "62", "63", "64", "65"]


def _copy(raw, table: str, columns: list[str], rows) -> int:
    cols = columns + list(tables.LINEAGE_COLUMNS)
    n = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((*row, *LINEAGE))
            n += 1
    return n


def generate(engine: sa.Engine, groups: int, per_group: int, seed: int = 7) -> dict[str, int]:
    rnd = random.Random(seed)
    n_heads, n_branches = max(groups // 20, 50), max(groups // 50, 10)
    heads = [f"H{i:09d}" for i in range(n_heads)]
    counts = {}
    raw = engine.raw_connection()
    try:
        drv = raw.driver_connection

        def agencies():
            for i, uscc in enumerate(heads):
                p = PROVINCES[i % len(PROVINCES)]
                out = rnd.random() < 0.6
                status, sdate = ("CANCELLED", date(2025, rnd.randint(1, 12), 1)) if rnd.random() < 0.05 else ("ACTIVE", None)
                yield (uscc, f"旅行社{i}", "HEAD", None, f"L-XX-{i:05d}", f"{p}{rnd.randint(1, 9):02d}01",
                       "DOMESTIC|INBOUND|OUTBOUND" if out else "DOMESTIC|INBOUND",
                       date(2020, 1, 1) + timedelta(days=rnd.randint(0, 2400)) if out else None,
                       None, status, sdate, datetime(2026, 1, 1))
            for j in range(n_branches):
                p = PROVINCES[j % len(PROVINCES)]
                yield (f"B{j:09d}", f"分社{j}", "BRANCH", rnd.choice(heads), None, f"{p}0101", "DOMESTIC|OUTBOUND",
                       date(2020, 1, 1), None, "ACTIVE", None, datetime(2026, 1, 1))

        counts["travel_agency"] = _copy(drv, "travel_agency", [
            "uscc", "name", "unit_type", "parent_uscc", "licence_no", "division_code", "business_scope",
            "outbound_granted_date", "established_date", "status", "status_date", "updated_at"], agencies())

        organizers = heads + [f"B{j:09d}" for j in range(n_branches)]
        plan = []
        for g in range(groups):
            start = date(2026, 1, 1) + timedelta(days=rnd.randint(0, 364))
            submitted = datetime.combine(start, datetime.min.time()) - timedelta(days=rnd.randint(1, 40), hours=rnd.randint(0, 23))
            kind = rnd.choices(("OUTBOUND", "DOMESTIC", "INBOUND"), (5, 4, 1))[0]
            plan.append((rnd.choice(organizers), f"G{g:08d}", kind, start, submitted))

        def tour_groups():
            for org, code, kind, start, submitted in plan:
                yield (code, org, kind, None, start, start + timedelta(days=5), per_group,
                       "CANCELLED" if rnd.random() < 0.03 else "APPROVED", submitted, submitted)

        counts["tour_group"] = _copy(drv, "tour_group", [
            "group_code", "organizer_uscc", "group_type", "receiving_uscc", "start_date", "end_date",
            "tourist_count", "status", "submitted_at", "updated_at"], tour_groups())

        def members():
            for org, code, *_ in plan:
                for s in range(1, per_group + 1):
                    yield (org, code, s, f"游客{s}", "M", date(1980, 1, 1), "CN_PASSPORT", f"E{rnd.randint(0, 10**8):08d}", "CHN")

        counts["group_member"] = _copy(drv, "group_member", [
            "organizer_uscc", "group_code", "seq_no", "name", "gender", "birth_date", "doc_type", "doc_no",
            "nationality"], members())

        contracts = [(f"C{k:09d}", org, code, start, submitted)
                     for k, (org, code, kind, start, submitted) in enumerate(plan) if kind != "INBOUND"]

        def e_contracts():
            for cc, org, code, start, submitted in contracts:
                kind = rnd.choices(("OUTBOUND", "TAIWAN", "DOMESTIC", "ONE_DAY", "B2B"), (5, 1, 4, 1, 1))[0]
                yield (cc, org, kind, code, start, start + timedelta(days=5), 5, 5000, "SIGNED",
                       submitted, submitted + timedelta(hours=2), submitted)

        counts["e_contract"] = _copy(drv, "e_contract", [
            "contract_code", "agency_uscc", "contract_type", "group_code", "start_date", "end_date", "tourist_count",
            "price_total", "status", "registered_at", "signed_at", "updated_at"], e_contracts())

        def tourists():
            for cc, *_ in contracts:
                for s in range(1, 6):
                    yield (cc, s, f"游客{s}", "M", date(1980, 1, 1), "CN_RIC", "110101198001010011", "CHN")

        counts["contract_tourist"] = _copy(drv, "contract_tourist", [
            "contract_code", "seq_no", "name", "gender", "birth_date", "doc_type", "doc_no", "nationality"], tourists())

        guides = [f"D-2026-{i:06d}" for i in range(max(groups // 5, 10))]

        def staff():
            for org, code, kind, *_ in plan:
                yield (org, code, rnd.choice(guides), "LEADER" if kind == "OUTBOUND" else "LOCAL_GUIDE", None, None)

        counts["group_staff"] = _copy(drv, "group_staff", [
            "organizer_uscc", "group_code", "guide_card_no", "role", "service_from", "service_to"], staff())

        def app_days():
            seen = set()
            for _ in range(groups * 2):
                key = (rnd.choice(guides), date(2026, 1, 1) + timedelta(days=rnd.randint(0, 364)))
                if key not in seen:
                    seen.add(key)
                    yield (*key, rnd.random() < 0.8)

        counts["guide_app_day"] = _copy(drv, "guide_app_day", ["guide_card_no", "date", "opened"], app_days())
        drv.commit()
        with drv.cursor() as cur:
            cur.execute("ANALYZE")
        drv.commit()
    finally:
        raw.close()
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--groups", type=int, default=100_000)
    ap.add_argument("--members-per-group", type=int, default=10)
    ap.add_argument("--month", default="2026-06")
    ap.add_argument("--url", default=os.environ.get("TOURLINK_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--keep", action="store_true", help="keep the schema for inspection")
    args = ap.parse_args()

    schema = f"bench_ind_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.engine.make_url(args.url).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = sa.create_engine(url)
    try:
        tables.metadata.create_all(engine)
        t0 = time.perf_counter()
        counts = generate(engine, args.groups, args.members_per_group)
        load_s = time.perf_counter() - t0
        print(f"generated in {load_s:.1f}s: " + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
        with engine.connect() as conn:
            compute_indicators(conn, args.month)  # warm the cache: we time queries, not the disk
            for label, fn in (
                ("indicators 1-8, nation", lambda: compute_indicators(conn, args.month)),
                ("indicators 1-8, province 21", lambda: compute_indicators(conn, args.month, "21")),
                ("all regions (snapshot)", lambda: compute_all_regions(conn, args.month)),
            ):
                t = time.perf_counter()
                figures = fn()
                print(f"{label:32s} {time.perf_counter() - t:6.2f}s  ({len(figures)} figures)")
            for f in compute_indicators(conn, args.month):
                print(f"  {f.indicator}: {f.numerator} / {f.denominator} = {f.value}")
        print("reference: issue 3 asks for seconds, not minutes, for one month at this size")
    finally:
        engine.dispose()
        if not args.keep:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


if __name__ == "__main__":
    main()
