"""`import_files` merges each chunk in the batch's open transaction while the next chunk is read
(`tourlink.flow.merge.StreamedBatch`, issue 9): the warehouse ends exactly as the two-step path (`stage` then `commit`,
as the Airflow tasks run it) leaves it, and a failure at any chunk leaves nothing behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tourlink.flow import ForeignAgencyRows, WarehouseFailed, commit, file_inputs, import_files, stage
from tourlink.flow import merge as committing
from warehouse.load import Warehouse

from .filings import GROUP_HEADER, ORGANIZER, group_line, rows

OTHER_AGENCY = "91110000MA01ABCD2Q"
MEMBER_HEADER = "organizer_uscc,group_code,seq_no,name,gender,birth_date,doc_type,doc_no,nationality\n"
TABLES = ["tour_group", "group_member", "quarantine", "finding"]


def member_line(group: str, seq: int, doc_no: str = "E12345678") -> str:
    return f"{ORGANIZER},{group},{seq},游客{group}{seq},M,1980-01-0{1 + seq % 9},CN_PASSPORT,{doc_no}{seq},CHN\n"


@pytest.fixture
def batch_files(tmp_path, agency_csv) -> list[Path]:
    """An agency, 12 groups and their 48 members, one of them bad (no document number) — read in chunks of 10 rows."""
    groups = tmp_path / "tour_group.csv"
    groups.write_text(GROUP_HEADER + "".join(group_line(f"G{g:02d}", 4) for g in range(12)), encoding="utf-8")
    members = tmp_path / "group_member.csv"
    lines = [member_line(f"G{g:02d}", s) for g in range(12) for s in range(1, 5)]
    lines[30] = f"{ORGANIZER},G07,3,游客G073,M,1980-01-04,CN_PASSPORT,,CHN\n"  # no document number
    members.write_text(MEMBER_HEADER + "".join(lines), encoding="utf-8")
    return [agency_csv, groups, members]


def snapshot(wh: Warehouse) -> dict[str, list[tuple]]:
    """What a steward or an indicator can see, without batch ids and timestamps."""
    return {
        "tour_group": rows(wh, "select group_code, tourist_count, status from tour_group order by 1"),
        "group_member": rows(wh, "select group_code, seq_no, name, doc_no from group_member order by 1, 2"),
        "quarantine": rows(wh, "select entity, file, row, status from quarantine order by 2, 3"),
        "finding": rows(wh, "select entity, rule, field from finding order by 1, 2, 3"),
    }


def test_a_streamed_import_leaves_the_warehouse_as_stage_then_commit_does(warehouse_url, tmp_path, batch_files,
                                                                           tourlink_home):  # fmt: skip
    streamed = Warehouse(warehouse_url, landing_dir=tmp_path / "landing-a")
    result = import_files(batch_files, warehouse=streamed, chunk_rows=10)
    seen = snapshot(streamed)
    with streamed.engine.begin() as conn:  # the same warehouse, emptied, for the two-step path
        for table in ("finding", "quarantine_history", "quarantine", "group_member", "tour_group", "travel_agency"):
            conn.execute(sa.text(f"delete from {table}"))
    staged, _ = stage(file_inputs(batch_files, [str(p) for p in batch_files], chunk_rows=10), source="files",
                      warehouse=streamed)  # fmt: skip
    two_step = commit(staged, warehouse=streamed)

    assert seen == snapshot(streamed)
    assert len(seen["group_member"]) == 47 and seen["quarantine"][0][:2] == ("group_member", str(batch_files[2]))
    assert {e: vars(c) for e, c in result.entities.items()} == {e: vars(c) for e, c in two_step.entities.items()}
    assert result.timings["merge"] > 0
    streamed.engine.dispose()


def test_another_agencys_rows_in_a_late_chunk_withdraw_the_whole_batch(warehouse, batch_files):
    members = batch_files[2]
    members.write_text(members.read_text(encoding="utf-8") + member_line("G11", 9).replace(ORGANIZER, OTHER_AGENCY),
                       encoding="utf-8")  # fmt: skip

    with pytest.raises(ForeignAgencyRows):
        import_files(batch_files, warehouse=warehouse, owner_uscc=ORGANIZER, chunk_rows=10)

    assert rows(warehouse, "select count(*) from tour_group") == [(0,)]
    assert rows(warehouse, "select count(*) from group_member") == [(0,)]
    assert rows(warehouse, "select count(*) from quarantine") == [(0,)]
    assert rows(warehouse, "select count(*) from batch") == [(0,)]  # a rejected input leaves no batch behind


def test_a_database_error_in_the_writer_reaches_the_caller_and_the_batch_rolls_back(warehouse, batch_files,
                                                                                     monkeypatch):  # fmt: skip
    calls = []
    real = committing._write_part

    def fail_on_the_fourth_part(b, result, entity, kind, frame, prepared):
        calls.append(entity)
        if len(calls) == 4:
            raise sa.exc.OperationalError("COPY", {}, Exception("server closed the connection"))
        real(b, result, entity, kind, frame, prepared)

    monkeypatch.setattr(committing, "_write_part", fail_on_the_fourth_part)

    with pytest.raises(WarehouseFailed, match="server closed") as failure:
        import_files(batch_files, warehouse=warehouse, chunk_rows=10)

    assert isinstance(failure.value.__cause__, sa.exc.OperationalError) and failure.value.committed is False

    assert len(calls) == 4  # nothing was written after the failing part
    assert rows(warehouse, "select count(*) from tour_group") == [(0,)]
    assert rows(warehouse, "select status from batch") == [("failed",)]


def _reader_and_writer(monkeypatch, pause: float) -> list[str]:
    """The order in which parts are handed over ("read") and written ("write", each `pause` s)."""
    events: list[str] = []
    real_put, real_write = committing.StreamedBatch.put, committing._write_part

    def handed_over(self, entity, kind, frame):
        real_put(self, entity, kind, frame)
        events.append("read")

    def slow_write(b, result, entity, kind, frame, prepared):
        events.append("write")
        time.sleep(pause)
        real_write(b, result, entity, kind, frame, prepared)

    monkeypatch.setattr(committing.StreamedBatch, "put", handed_over)
    monkeypatch.setattr(committing, "_write_part", slow_write)
    return events


def _most_ahead(events: list[str]) -> int:
    return max(events[: i + 1].count("read") - events[: i + 1].count("write") for i in range(len(events)))


def test_a_part_over_the_waiting_budget_is_handed_over_not_queued(warehouse, batch_files, monkeypatch):
    """Memory stays bounded however large the file: a slow database holds the reader back, and a part
    bigger than `WAITING_BYTES` (a file's 100,000-row chunk) is handed over, not queued — `put`
    returns once the writer has taken it, so at most the part being written and the next one are alive."""
    events = _reader_and_writer(monkeypatch, pause=0.1)
    monkeypatch.setattr(committing.StreamedBatch, "WAITING_BYTES", 0)

    result = import_files(batch_files, warehouse=warehouse, chunk_rows=5)

    assert events.count("read") == events.count("write") >= 12
    assert _most_ahead(events) <= 1  # the writer has taken every part handed over (with a queue: up to 3)
    assert result.counts("group_member").loaded == 47


def test_small_parts_wait_for_the_writer_while_the_reader_goes_on(warehouse, batch_files, monkeypatch):
    """Parts that add up to at most `WAITING_BYTES` (a sync's teams, while its contracts are mapped)
    queue for the writer: the reader is not held back by each merge, and every part is still written,
    in the order it was handed over."""
    events = _reader_and_writer(monkeypatch, pause=0.3)

    result = import_files(batch_files, warehouse=warehouse, chunk_rows=5)

    assert events.count("read") == events.count("write") >= 12
    assert _most_ahead(events) >= 3  # the reader went on while the writer slept on earlier parts
    assert result.counts("group_member").loaded == 47
    assert result.counts("group_member").quarantined == 1


def test_a_files_first_chunk_is_handed_over_in_a_quarter_part_first(batch_files):
    """The writer starts on a small first part; the rows, their numbers and their order are unchanged."""
    members = batch_files[2]
    (member_input,) = file_inputs([members], [members.name], chunk_rows=20)

    frames = list(member_input.frames)

    assert [f.data.height for f in frames] == [5, 15, 20, 8]
    numbers = [n for f in frames for n in f.data["__row"].to_list()]
    assert numbers == list(range(2, 50))  # CSV lines 2…49, each once, in order


def test_a_withdrawn_batch_does_not_merge_the_parts_still_waiting_for_the_writer(warehouse, batch_files, monkeypatch):
    """Parts queue for a slow writer; another agency's rows in the last chunk withdraw the batch, and
    the writer rolls back at once instead of first merging what was still queued."""
    events = _reader_and_writer(monkeypatch, pause=0.3)
    members = batch_files[2]
    members.write_text(members.read_text(encoding="utf-8") + member_line("G11", 9).replace(ORGANIZER, OTHER_AGENCY),
                       encoding="utf-8")  # fmt: skip

    with pytest.raises(ForeignAgencyRows):
        import_files(batch_files, warehouse=warehouse, owner_uscc=ORGANIZER, chunk_rows=5)

    assert events.count("read") >= 8
    assert events.count("write") < events.count("read") - 2, events  # the queued parts were dropped, not written
    assert rows(warehouse, "select count(*) from tour_group") == [(0,)]
    assert rows(warehouse, "select count(*) from batch") == [(0,)]
