"""Two syncs writing the same tables at once: neither deadlocks nor loses an update."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from tests.warehouse.entity_frames import at, roster_frames
from warehouse.load import Warehouse


def test_two_loads_of_overlapping_keys_both_commit_and_the_newest_wins(warehouse_url, tmp_path):
    Warehouse(warehouse_url, landing_dir=tmp_path).engine.dispose()  # schema in place before the race
    older = roster_frames(300, route="甲", updated=at(2))
    newer = roster_frames(300, route="乙", updated=at(3))
    # the newer sync covers groups 100..399, the older one 0..299: 100..299 overlap
    newer = tuple(f.with_columns(group_code=pl.format("G{}", (pl.col("group_code").str.slice(1).cast(pl.Int64) + 100).cast(pl.String).str.pad_start(7, "0"))) for f in newer)
    start = threading.Barrier(2)

    def sync(frames: tuple[pl.DataFrame, pl.DataFrame], reverse: bool) -> str:
        wh = Warehouse(warehouse_url, landing_dir=tmp_path)
        groups, members = frames
        start.wait()
        with wh.batch("sync") as b:
            # opposite orders: the lock order, not the caller's, must decide
            steps = [("group_member", members), ("tour_group", groups)] if reverse else [("tour_group", groups), ("group_member", members)]
            for entity, frame in steps:
                b.merge(entity, frame)
        wh.engine.dispose()
        return b.batch_id

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(sync, older, False), pool.submit(sync, newer, True)]
        ids = [f.result(timeout=180) for f in futures]

    wh = Warehouse(warehouse_url, landing_dir=tmp_path)
    with wh.engine.connect() as conn:
        routes = dict(conn.exec_driver_sql("select route_name, count(*) from tour_group group by route_name").all())
        members = conn.exec_driver_sql("select count(*) from group_member").scalar()
        statuses = conn.exec_driver_sql("select status from batch").scalars().all()
    assert routes == {"甲": 100, "乙": 300}  # whichever committed last, an older row never overwrote a newer one
    assert members == 400 * 30
    assert len(ids) == 2 and statuses == ["committed", "committed"]
    wh.engine.dispose()
