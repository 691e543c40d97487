"""Merging validated rows by natural key: what is inserted, replaced, left alone."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest
import sqlalchemy as sa

from tests.warehouse.entity_frames import ORGANIZER, at, entity_frame, group, member
from warehouse.load import MergeCounts, Warehouse


def load(wh: Warehouse, entity: str, rows: list[dict], **batch) -> MergeCounts:
    with wh.batch("test", **batch) as b:
        return b.merge(entity, entity_frame(entity, rows))


def stored(wh: Warehouse, sql: str) -> list[tuple]:
    with wh.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql).all()]


def test_new_keys_are_inserted_with_lineage(warehouse):
    counts = load(warehouse, "tour_group", [group("G1"), group("G2")])
    assert counts == MergeCounts(loaded=2, unchanged=0)
    # the source and the time received are the batch row's; the file and row are the row's own
    rows = stored(
        warehouse,
        "select g.group_code, g.route_name, g.destinations, g.start_date, g.updated_at, b.source, f.file, g._row"
        " from tour_group g join batch b on b.batch_no = g._batch_no"
        " join lineage_file f on f.batch_no = g._batch_no and f.file_no = g._file_no order by g.group_code",
    )
    assert [r[:3] for r in rows] == [("G1", "北京五日游", "110000"), ("G2", "北京五日游", "110000")]
    assert str(rows[0][3]).startswith("2026-10-01") and str(rows[0][4]).startswith("2026-10-01 08:00:00")
    assert rows[0][5:] == ("test", "upload.csv", 2)


def test_rows_cite_their_file_by_a_number_the_batch_gives_each_name(warehouse):
    """`_file_no`: one `lineage_file` row per name a batch's rows cite, numbered from 1 in the order
    the batch met them; a name met again (a later chunk, another entity) keeps its number; rows of
    one frame from many files (an API sync's pages) each get their own; a batch numbers afresh."""
    with warehouse.batch("test") as b:
        b.merge("tour_group", entity_frame("tour_group", [group("G1"), group("G2")], file="团队.xlsx"))
        pages = entity_frame("tour_group", [group("G3"), group("G4"), group("G5")]).with_columns(
            _file=pl.Series(["p2.json", "团队.xlsx", None])
        )
        b.merge("tour_group", pages)
        b.merge("group_member", entity_frame("group_member", [member("G1", 1)], file="p2.json"))
        first = b.batch_no
    with warehouse.batch("test") as b:
        b.merge("tour_group", entity_frame("tour_group", [group("G6")], file="p2.json"))
        second = b.batch_no
    assert stored(warehouse, "select batch_no, file_no, file from lineage_file order by 1, 2") == [
        (first, 1, "团队.xlsx"), (first, 2, "p2.json"), (second, 1, "p2.json")
    ]
    cited = (
        "select g.group_code, f.file from tour_group g"
        " left join lineage_file f on f.batch_no = g._batch_no and f.file_no = g._file_no order by 1"
    )
    assert stored(warehouse, cited) == [
        ("G1", "团队.xlsx"), ("G2", "团队.xlsx"), ("G3", "p2.json"), ("G4", "团队.xlsx"), ("G5", None), ("G6", "p2.json")
    ]
    assert stored(warehouse, "select _file_no from group_member") == [(2,)]


def test_a_batch_rolled_back_leaves_no_file_numbers(warehouse):
    with pytest.raises(RuntimeError), warehouse.batch("test") as b:
        b.merge("tour_group", entity_frame("tour_group", [group("G1")], file="a.csv"))
        raise RuntimeError("staging failed")
    assert stored(warehouse, "select count(*) from lineage_file") == [(0,)]


def test_a_newer_row_replaces_the_stored_one(warehouse):
    load(warehouse, "tour_group", [group("G1")])
    assert load(warehouse, "tour_group", [group("G1", updated=at(2), route="上海三日游")]) == MergeCounts(1, 0)
    assert stored(warehouse, "select route_name from tour_group") == [("上海三日游",)]


def test_an_older_row_never_overwrites(warehouse):
    load(warehouse, "tour_group", [group("G1", updated=at(5), route="新线路")])
    assert load(warehouse, "tour_group", [group("G1", updated=at(2), route="旧线路")]) == MergeCounts(0, 1)
    assert stored(warehouse, "select route_name from tour_group") == [("新线路",)]


def test_an_equal_timestamp_with_a_change_replaces(warehouse):
    load(warehouse, "tour_group", [group("G1", updated=at(3))])
    assert load(warehouse, "tour_group", [group("G1", updated=at(3), route="改")]) == MergeCounts(1, 0)
    assert stored(warehouse, "select route_name from tour_group") == [("改",)]


def test_a_newer_row_with_nothing_different_is_unchanged_and_not_written(warehouse):
    load(warehouse, "tour_group", [group("G1", updated=at(3))])
    first_batch = stored(warehouse, "select _batch_no from tour_group")
    assert load(warehouse, "tour_group", [group("G1", updated=at(3))]) == MergeCounts(0, 1)
    assert stored(warehouse, "select _batch_no from tour_group") == first_batch


def test_a_null_becoming_a_value_is_a_change(warehouse):
    load(warehouse, "tour_group", [group("G1", route=None)])
    assert load(warehouse, "tour_group", [group("G1", route="有了")]) == MergeCounts(1, 0)
    assert load(warehouse, "tour_group", [group("G1", route=None)]) == MergeCounts(1, 0)
    assert stored(warehouse, "select route_name from tour_group") == [(None,)]


def test_entities_without_updated_at_take_any_different_row(warehouse):
    load(warehouse, "group_member", [member("G1", 1, name="张三")])
    assert load(warehouse, "group_member", [member("G1", 1, name="李四")]) == MergeCounts(1, 0)
    assert load(warehouse, "group_member", [member("G1", 1, name="李四")]) == MergeCounts(0, 1)
    assert stored(warehouse, "select name from group_member") == [("李四",)]


def test_reloading_the_same_rows_changes_nothing(warehouse):
    groups = [group(f"G{i}", destinations=["110000", "310000"], route=f"线路{i}") for i in range(50)]
    members = [member(f"G{i % 50}", i) for i in range(1, 500)]
    with warehouse.batch("test") as b:
        b.merge("tour_group", entity_frame("tour_group", groups))
        b.merge("group_member", entity_frame("group_member", members))
    before = stored(warehouse, "select * from group_member order by group_code, seq_no")
    with warehouse.batch("test") as b:
        assert b.merge("tour_group", entity_frame("tour_group", groups)) == MergeCounts(0, 50)
        assert b.merge("group_member", entity_frame("group_member", members)) == MergeCounts(0, 499)
    assert stored(warehouse, "select * from group_member order by group_code, seq_no") == before


def test_every_canonical_type_round_trips_and_reloads_unchanged(warehouse):
    contract = {
        "contract_code": "HT001",
        "agency_uscc": ORGANIZER,
        "contract_type": "DOMESTIC",
        "start_date": date(2026, 10, 1),
        "end_date": date(2026, 10, 3),
        "tourist_count": 2,
        "price_total": Decimal("1999.50"),
        "status": "SIGNED",
        "registered_at": at(1, 9),
        "signed_at": at(1, 10),
        "updated_at": at(1, 10),
    }
    assert load(warehouse, "e_contract", [contract]) == MergeCounts(1, 0)
    assert load(warehouse, "e_contract", [contract]) == MergeCounts(0, 1)
    assert load(warehouse, "e_contract", [{**contract, "price_total": Decimal("2000.00")}]) == MergeCounts(1, 0)
    [(price,)] = stored(warehouse, "select price_total from e_contract")
    assert Decimal(str(price)) == Decimal("2000")


def test_duplicate_keys_in_one_frame_keep_the_newest_then_the_last(warehouse):
    rows = [
        group("G1", updated=at(3), route="最新"),
        group("G1", updated=at(1), route="旧"),
        group("G2", route="先"),
        group("G2", route="后"),
    ]
    load(warehouse, "tour_group", rows)
    assert stored(warehouse, "select group_code, route_name from tour_group order by 1") == [("G1", "最新"), ("G2", "后")]


def test_a_key_again_in_a_later_part_of_a_first_load_is_merged_with_the_earlier_part(warehouse):
    # The table is empty when the batch starts, so the first part skips the stored-row lookups;
    # a later part that brings a key again must still be merged by the version rules, not copied twice.
    with warehouse.batch("test") as b:
        first = b.merge("tour_group", entity_frame("tour_group", [group("G1", updated=at(2)), group("G2", updated=at(2))]))
        newer = b.merge("tour_group", entity_frame("tour_group", [group("G1", updated=at(3), route="新"), group("G3")]))
        older = b.merge("tour_group", entity_frame("tour_group", [group("G2", updated=at(1), route="旧")]))
    assert (first, newer, older) == (MergeCounts(2, 0), MergeCounts(2, 0), MergeCounts(0, 1))
    rows = stored(warehouse, "select group_code, route_name from tour_group order by 1")
    assert rows == [("G1", "新"), ("G2", "北京五日游"), ("G3", "北京五日游")]


def test_a_first_part_into_a_table_that_holds_rows_is_compared_with_them(warehouse):
    load(warehouse, "tour_group", [group("G1")])
    with warehouse.batch("test") as b:
        again = b.merge("tour_group", entity_frame("tour_group", [group("G1"), group("G2")]))
    assert again == MergeCounts(loaded=1, unchanged=1)
    assert stored(warehouse, "select count(*) from tour_group") == [(2,)]


def test_existing_keys_sees_this_batchs_rows(warehouse):
    keys = pl.DataFrame({"organizer_uscc": [ORGANIZER] * 3, "group_code": ["G1", "G2", "G3"]})
    load(warehouse, "tour_group", [group("G1")])
    with warehouse.batch("test") as b:
        b.merge("tour_group", entity_frame("tour_group", [group("G2")]))
        found = b.existing_keys("tour_group", keys)
    assert sorted(found["group_code"]) == ["G1", "G2"]
    assert found.schema == keys.schema
    assert warehouse.existing_keys_readonly("tour_group", keys)["group_code"].sort().to_list() == ["G1", "G2"]


@pytest.mark.parametrize("shrunk_to", [28, 0])
def test_a_roster_that_shrank_keeps_only_the_members_sent(warehouse, shrunk_to):
    with warehouse.batch("test") as b:
        b.merge("tour_group", entity_frame("tour_group", [group("G1"), group("G2")]))
        b.merge("group_member", entity_frame("group_member", [member(g, i) for g in ("G1", "G2") for i in range(1, 31)]))
    with warehouse.batch("test") as b:
        b.merge("tour_group", entity_frame("tour_group", [group("G1", updated=at(2), tourist_count=28)]))
        if shrunk_to:
            b.merge("group_member", entity_frame("group_member", [member("G1", i) for i in range(1, shrunk_to + 1)]))
    members = stored(warehouse, "select group_code, count(*), max(seq_no) from group_member group by group_code order by 1")
    # A batch that carries no roster for G1 says nothing about its members; G2 was not touched at all.
    expected_g1 = ("G1", 28, 28) if shrunk_to else ("G1", 30, 30)
    assert members == [expected_g1, ("G2", 30, 30)]


def test_a_roster_is_not_cut_when_its_group_did_not_change(warehouse):
    with warehouse.batch("test") as b:
        b.merge("tour_group", entity_frame("tour_group", [group("G1")]))
        b.merge("group_member", entity_frame("group_member", [member("G1", i) for i in range(1, 31)]))
    with warehouse.batch("test") as b:  # a partial re-send of members under an unchanged group
        b.merge("tour_group", entity_frame("tour_group", [group("G1")]))
        b.merge("group_member", entity_frame("group_member", [member("G1", i) for i in range(1, 11)]))
    assert stored(warehouse, "select count(*) from group_member") == [(30,)]


def test_contract_tourists_are_replaced_as_a_set(warehouse):
    contract = {"contract_code": "HT1", "agency_uscc": ORGANIZER, "contract_type": "DOMESTIC", "tourist_count": 3,
                "price_total": Decimal("10.00"), "status": "SIGNED", "registered_at": at(1), "updated_at": at(1)}  # fmt: skip
    tourist = {"contract_code": "HT1", "gender": "F", "doc_type": "CN_RIC", "nationality": "CHN", "birth_date": date(1990, 1, 1)}
    with warehouse.batch("test") as b:
        b.merge("e_contract", entity_frame("e_contract", [contract]))
        b.merge("contract_tourist", entity_frame("contract_tourist", [{**tourist, "seq_no": i, "name": f"客{i}"} for i in (1, 2, 3)]))
    with warehouse.batch("test") as b:
        b.merge("e_contract", entity_frame("e_contract", [{**contract, "tourist_count": 2, "updated_at": at(2)}]))
        b.merge("contract_tourist", entity_frame("contract_tourist", [{**tourist, "seq_no": i, "name": f"客{i}"} for i in (1, 3)]))
    assert stored(warehouse, "select seq_no from contract_tourist order by 1") == [(1,), (3,)]
    [(counts,)] = stored(warehouse, "select counts from batch where status = 'committed' order by started_at desc limit 1")
    assert "deleted" in str(counts)


def test_an_exception_rolls_the_whole_batch_back_and_marks_it_failed(warehouse):
    with pytest.raises(RuntimeError, match="boom"):
        with warehouse.batch("test") as b:
            b.merge("tour_group", entity_frame("tour_group", [group("G1")]))
            b.set_watermark("groups", "2026-10-02")
            raise RuntimeError("boom")
    assert stored(warehouse, "select count(*) from tour_group") == [(0,)]
    assert warehouse.watermark("test", "groups") is None
    [(status, error)] = stored(warehouse, "select status, error from batch")
    assert status == "failed" and "boom" in error


def test_the_watermark_moves_with_the_rows_it_covers(warehouse):
    with warehouse.batch("test") as b:
        b.merge("tour_group", entity_frame("tour_group", [group("G1")]))
        b.set_watermark("groups", "2026-10-01T00:00:00Z")
    assert warehouse.watermark("test", "groups") == "2026-10-01T00:00:00Z"
    with pytest.raises(ValueError):
        with warehouse.batch("test") as b:
            b.merge("tour_group", entity_frame("tour_group", [group("G2")]))
            b.set_watermark("groups", "2026-10-02T00:00:00Z")
            raise ValueError("the next page failed")
    assert warehouse.watermark("test", "groups") == "2026-10-01T00:00:00Z"
    assert stored(warehouse, "select group_code from tour_group") == [("G1",)]


def test_files_land_by_content_hash_and_count_as_loaded_once_committed(warehouse, tmp_path):
    upload = tmp_path / "团队名单.csv"
    upload.write_text("团号,姓名\nG1,张三\n", encoding="utf-8")
    with warehouse.batch("test") as b:
        record = b.add_file(upload)
        assert not warehouse.file_loaded(record.sha256)  # not before the batch commits
    assert warehouse.file_loaded(record.sha256)
    landed = warehouse.landing_dir / record.landing_path
    assert landed.read_bytes() == upload.read_bytes()
    assert record.landing_path == f"{record.sha256[:2]}/{record.sha256}.csv"
    assert stored(warehouse, "select file, size from batch_file") == [("团队名单.csv", upload.stat().st_size)]
    assert not [p for p in landed.parent.iterdir() if p.name.startswith(".landing-")]


def test_a_syncs_pages_are_kept_together_each_content_once_under_the_name_given(warehouse, tmp_path):
    """`add_files`: every page landed and recorded in one statement; a page served twice with the
    same bytes is one file of the batch, under the name it came first with."""
    pages = []
    for n in range(1, 121):
        page = tmp_path / f"teams-page-{n:04d}.json"
        page.write_text(f'{{"page": {min(n, 119)}}}', encoding="utf-8")  # pages 119 and 120: the same bytes
        pages.append(page)
    with warehouse.batch("erp") as b:
        records = b.add_files((p, None) for p in pages)
        renamed = b.add_files([(pages[0], "first.json")])
    assert [r.name for r in records] == [p.name for p in pages] and renamed[0].sha256 == records[0].sha256
    kept = stored(warehouse, "select file from batch_file order by file")
    assert len(kept) == 119 and ("teams-page-0120.json",) not in kept and ("first.json",) not in kept
    assert all((warehouse.landing_dir / r.landing_path).read_bytes() == p.read_bytes() for r, p in zip(records, pages, strict=True))


def test_a_file_of_a_failed_batch_is_not_loaded(warehouse, tmp_path):
    upload = tmp_path / "a.csv"
    upload.write_text("x\n1\n")
    with pytest.raises(RuntimeError):
        with warehouse.batch("test") as b:
            record = b.add_file(upload)
            raise RuntimeError("unreadable")
    assert not warehouse.file_loaded(record.sha256)


def test_counts_and_timings_are_kept_on_the_batch_row(warehouse):
    with warehouse.batch("sftp:agency") as b:
        b.record_counts({"tour_group": {"read": 3, "loaded": 2, "quarantined": 1, "unchanged": 0}}, {"merge": 0.25})
        batch_id = b.batch_id
    with warehouse.engine.connect() as conn:
        row = conn.execute(sa.text("select source, status, counts, timings, finished_at from batch where batch_id = :b"), {"b": batch_id}).one()
    assert row.source == "sftp:agency" and row.status == "committed" and row.finished_at is not None
    assert "quarantined" in str(row.counts) and "0.25" in str(row.timings)
