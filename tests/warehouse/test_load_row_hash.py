"""The stored content hash (`_row_hash`, content and `updated_at`): a re-load skips rows whose content
and version are already stored, and never skips a row the exact comparison would write."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from tests.warehouse.entity_frames import at, entity_frame, group, member
from tourlink.frames import UPDATED_AT_GIVEN
from warehouse import tables
from warehouse.load import MergeCounts, Warehouse


def load(wh: Warehouse, entity: str, rows: list[dict]) -> MergeCounts:
    with wh.batch("test") as b:
        return b.merge(entity, entity_frame(entity, rows))


def stored(wh: Warehouse, sql: str) -> list[tuple]:
    with wh.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql).all()]


def execute(wh: Warehouse, sql: str) -> None:
    with wh.engine.begin() as conn:
        conn.execute(sa.text(sql))


def test_every_merged_row_stores_a_hash_of_its_content_and_version(warehouse):
    load(warehouse, "tour_group", [group("G1", updated=at(1)), group("G2", updated=at(1)), group("G3", route="别的")])
    hashes = dict(stored(warehouse, "select group_code, _row_hash from tour_group"))
    assert all(h is not None for h in hashes.values())
    assert hashes["G1"] != hashes["G3"]  # content differs
    assert hashes["G1"] == hashes["G2"]  # the key is not hashed
    load(warehouse, "tour_group", [group("G4", updated=at(9)), group("G5", updated=at(1), submitted_at=at(3))])
    after = dict(stored(warehouse, "select group_code, _row_hash from tour_group"))
    assert after["G4"] != hashes["G1"]  # another version of the same content
    assert after["G5"] == hashes["G1"]  # submitted_at keeps the first filing: not hashed


def test_a_newer_updated_at_alone_is_stored_and_counted_loaded(warehouse):
    groups = [group(f"G{i}", updated=at(1)) for i in range(20)]
    load(warehouse, "tour_group", groups)
    before = stored(warehouse, "select group_code, route_name from tour_group order by group_code")
    newer = [group(f"G{i}", updated=at(5)) for i in range(20)]
    assert load(warehouse, "tour_group", newer) == MergeCounts(20, 0)
    table = tables.entity_tables["tour_group"]
    with warehouse.engine.connect() as conn:
        versions = conn.execute(sa.select(table.c.updated_at).distinct()).scalars().all()
    assert versions == [at(5).replace(tzinfo=None)]  # the stored 更新时间 follows the source
    assert stored(warehouse, "select group_code, route_name from tour_group order by group_code") == before
    again = stored(warehouse, "select * from tour_group order by group_code")
    assert load(warehouse, "tour_group", newer) == MergeCounts(0, 20)  # the same input twice: nothing changes
    assert stored(warehouse, "select * from tour_group order by group_code") == again
    assert load(warehouse, "tour_group", groups) == MergeCounts(0, 20)  # an older version is never stored
    assert stored(warehouse, "select * from tour_group order by group_code") == again


def received(wh: Warehouse, rows: list[dict]) -> MergeCounts:
    """Load tour groups whose 更新时间 the source left blank: the mapping filled it with the receipt time."""
    frame = entity_frame("tour_group", rows).with_columns(pl.lit(False).alias(UPDATED_AT_GIVEN))
    with wh.batch("test") as b:
        return b.merge("tour_group", frame)


def version(wh: Warehouse, code: str) -> object:
    table = tables.entity_tables["tour_group"]
    with wh.engine.connect() as conn:
        return conn.execute(sa.select(table.c.updated_at).where(table.c.group_code == code)).scalar_one()


def test_a_receipt_time_default_is_no_version_and_never_rewrites_the_same_content(warehouse):
    assert received(warehouse, [group(f"G{i}", updated=at(1)) for i in range(5)]) == MergeCounts(5, 0)
    before = stored(warehouse, "select * from tour_group order by group_code")
    # received again a day later: the defaulted 更新时间 is newer, the content is not
    assert received(warehouse, [group(f"G{i}", updated=at(2)) for i in range(5)]) == MergeCounts(0, 5)
    assert stored(warehouse, "select * from tour_group order by group_code") == before
    # content that changed is still written, with the receipt time as its 更新时间
    assert received(warehouse, [group("G0", updated=at(3), route="改线")]) == MergeCounts(1, 0)
    assert stored(warehouse, "select route_name from tour_group where group_code = 'G0'") == [("改线",)]
    assert version(warehouse, "G0") == at(3).replace(tzinfo=None)
    # a version the source sends itself outdates a defaulted one, and then the same version is unchanged
    assert load(warehouse, "tour_group", [group("G1", updated=at(4))]) == MergeCounts(1, 0)
    assert load(warehouse, "tour_group", [group("G1", updated=at(4))]) == MergeCounts(0, 1)
    # and a later blank 更新时间 with the same content does not replace the sent version
    assert received(warehouse, [group("G1", updated=at(5))]) == MergeCounts(0, 1)
    assert version(warehouse, "G1") == at(4).replace(tzinfo=None)


def test_a_row_stored_without_a_hash_is_compared_exactly_then_gets_its_hash(warehouse):
    load(warehouse, "group_member", [member("G1", 1, name="张三"), member("G1", 2, name="李四")])
    [(batch,)] = set(stored(warehouse, "select _batch_no from group_member"))
    hashes = stored(warehouse, "select seq_no, _row_hash from group_member order by seq_no")
    execute(warehouse, "update group_member set _row_hash = null")  # as stored before migration 0004
    assert load(warehouse, "group_member", [member("G1", 1, name="张三"), member("G1", 2, name="李四")]) == MergeCounts(
        0, 2
    )
    assert stored(warehouse, "select seq_no, _row_hash from group_member order by seq_no") == hashes
    assert set(stored(warehouse, "select _batch_no from group_member")) == {(batch,)}  # content and lineage kept
    assert load(warehouse, "group_member", [member("G1", 1, name="王五")]) == MergeCounts(1, 0)
    assert stored(warehouse, "select name from group_member order by seq_no") == [("王五",), ("李四",)]


def test_a_stale_hash_never_hides_a_change_and_a_wrong_one_only_costs_the_exact_comparison(warehouse):
    load(warehouse, "tour_group", [group("G1", updated=at(1), route="甲")])
    [(hash_a,)] = stored(warehouse, "select _row_hash from tour_group")
    execute(warehouse, "update tour_group set _row_hash = 12345")  # e.g. hashed by another polars version
    assert load(warehouse, "tour_group", [group("G1", updated=at(1), route="甲")]) == MergeCounts(0, 1)
    assert stored(warehouse, "select _row_hash from tour_group") == [(hash_a,)]
    assert load(warehouse, "tour_group", [group("G1", updated=at(3), route="乙")]) == MergeCounts(1, 0)
    assert load(warehouse, "tour_group", [group("G1", updated=at(1), route="甲")]) == MergeCounts(0, 1)  # older
    assert load(warehouse, "tour_group", [group("G1", updated=at(3), route="甲")]) == MergeCounts(1, 0)
    execute(warehouse, "update tour_group set _row_hash = 12345")
    assert load(warehouse, "tour_group", [group("G1", updated=at(3), route="甲")]) == MergeCounts(0, 1)
    [(hash_a3,)] = stored(warehouse, "select _row_hash from tour_group")
    assert hash_a3 not in (12345, hash_a)  # the exact comparison refreshed it to this version's hash


def test_an_older_row_with_other_content_keeps_the_stored_row_and_its_hash(warehouse):
    load(warehouse, "tour_group", [group("G1", updated=at(5), route="新")])
    before = stored(warehouse, "select route_name, _row_hash from tour_group")
    assert load(warehouse, "tour_group", [group("G1", updated=at(2), route="旧")]) == MergeCounts(0, 1)
    assert stored(warehouse, "select route_name, _row_hash from tour_group") == before


def test_chunks_of_one_batch_merge_with_each_other_new_keys_and_stored_ones_alike(warehouse):
    load(warehouse, "tour_group", [group("G0", updated=at(1))])
    with warehouse.batch("test") as b:
        first = b.merge(
            "tour_group",
            entity_frame("tour_group", [group("G1", updated=at(1), route="一"), group("G0", updated=at(1))]),
        )
        second = b.merge(
            "tour_group", entity_frame("tour_group", [group("G1", updated=at(2), route="二"), group("G2")])
        )
        third = b.merge(
            "tour_group",
            entity_frame(
                "tour_group", [group("G1", updated=at(2), route="二"), group("G0", updated=at(3), route="变")]
            ),
        )
    assert (first, second, third) == (MergeCounts(1, 1), MergeCounts(2, 0), MergeCounts(1, 1))
    assert stored(warehouse, "select group_code, route_name from tour_group order by 1") == [
        ("G0", "变"),
        ("G1", "二"),
        ("G2", "北京五日游"),
    ]


def test_a_roster_reloaded_unchanged_under_a_changed_group_keeps_every_member_sent(warehouse):
    with warehouse.batch("test") as b:
        b.merge("tour_group", entity_frame("tour_group", [group("G1")]))
        b.merge("group_member", entity_frame("group_member", [member("G1", i) for i in range(1, 31)]))
    with warehouse.batch("test") as b:  # the group changed; its members, all unchanged, are the new set minus two
        assert b.merge(
            "tour_group", entity_frame("tour_group", [group("G1", updated=at(2), tourist_count=28)])
        ) == MergeCounts(1, 0)
        assert b.merge(
            "group_member", entity_frame("group_member", [member("G1", i) for i in range(1, 29)])
        ) == MergeCounts(0, 28)
    assert stored(warehouse, "select count(*), max(seq_no) from group_member") == [(28, 28)]


def test_keys_with_commas_quotes_and_line_breaks_find_their_stored_rows(warehouse):
    codes = ['G,1', 'G"2"', "G\n3", "G'4", "普通"]
    load(warehouse, "tour_group", [group(c, updated=at(1)) for c in codes])
    load(warehouse, "group_member", [member(c, s) for c in codes for s in (1, 2)])

    assert load(warehouse, "tour_group", [group(c, updated=at(1)) for c in codes]) == MergeCounts(0, 5)
    assert load(warehouse, "group_member", [member(c, s) for c in codes for s in (1, 2, 3)]) == MergeCounts(5, 10)
    assert load(warehouse, "group_member", [member('G"2"', 1, name="王五")]) == MergeCounts(1, 0)
    assert stored(warehouse, "select count(*) from group_member") == [(15,)]
