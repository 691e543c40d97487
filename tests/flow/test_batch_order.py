"""A batch's result does not depend on the order of its inputs (issue 14, item 3).

`tourlink import dir/*.csv` gets the files alphabetically (`contract_tourist.csv` … `group_member.csv`
… `tour_group.csv`): every child file before its parent's. Whatever the order, files given
alphabetically, reversed or parents first load exactly the same rows, quarantine and findings; a
child whose parent is a good row of the same batch is never ORPHAN, one whose parent was rejected
always is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from tourlink.flow import import_files, load_batch
from tourlink.flow.inputs import record_inputs
from tourlink.frames import ROW, SourceFrame
from warehouse.load import Warehouse

from .canonical_set import BAD_GROUP_TOURISTS, DataSet, parents_first, snapshot, write_data_set

TOURLINK = str(Path(sys.executable).parent / "tourlink")
CHILDREN = ("group_member", "group_staff", "group_itinerary", "contract_tourist")


@pytest.fixture(scope="module")
def data_set(tmp_path_factory) -> DataSet:
    return write_data_set(tmp_path_factory.mktemp("canonical"))


def _load(files: list[Path], url: str, landing: Path, ignore: tuple[str, ...] = ()) -> dict[str, list]:
    wh = Warehouse(url, landing_dir=landing)
    import_files(files, warehouse=wh, names=[p.name for p in files])
    try:
        return snapshot(wh.engine, ignore=ignore)
    finally:
        wh.engine.dispose()


def _orphans(seen: dict[str, list]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entity, *_rest, rules in seen["quarantine"]:
        if "ORPHAN" in rules:
            counts[eval(entity)] = counts.get(eval(entity), 0) + 1
    return counts


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "templates"])
def test_a_full_data_set_loads_the_same_in_alphabetical_reverse_and_parents_first_order(data_set, fmt, tmp_path,
                                                                                          tourlink_home):  # fmt: skip
    files = getattr(data_set, fmt)
    ignore = ("updated_at",) if fmt == "templates" else ()  # the batch's own time where a template has none
    alphabetical = sorted(files, key=lambda p: p.name)
    assert alphabetical != parents_first(files), "the shell's order puts some child file before its parent's"
    seen = {
        order: _load(listed, f"sqlite:///{tmp_path / f'{order}.db'}", tmp_path / f"landing-{order}", ignore)
        for order, listed in (
            ("parents_first", parents_first(files)),
            ("alphabetical", alphabetical),
            ("reverse", alphabetical[::-1]),
        )
    }
    assert seen["alphabetical"] == seen["parents_first"]
    assert seen["reverse"] == seen["parents_first"]
    loaded = seen["parents_first"]
    assert all(loaded[child] for child in CHILDREN), "every child entity loaded"
    assert len(loaded["group_itinerary"]) > 40
    if fmt != "templates":  # the one bad group: only its own children are ORPHAN
        bad = [r for r in loaded["quarantine"] if eval(r[0]) == "tour_group"]
        assert len(bad) == 1
        assert set(_orphans(loaded)) <= {"group_member", "group_staff", "group_itinerary"}
        assert _orphans(loaded)["group_itinerary"] == 2


def test_the_cli_imports_a_data_set_given_as_the_shell_lists_it(data_set, tourlink_home):
    """`tourlink import csv/*.csv`: the glob's alphabetical order, the issue's reproduction."""
    files = sorted(data_set.csv, key=lambda p: p.name)
    out = subprocess.run([TOURLINK, "import", *map(str, files), "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    entities = json.loads(out.stdout)["entities"]
    members = len(pl.read_csv(data_set.csv[0].parent / "group_member.csv"))
    assert entities["group_member"]["read"] == members
    assert entities["group_member"]["quarantined"] < members // 10  # only the bad group's own tourists
    assert entities["contract_tourist"]["quarantined"] == 0
    assert entities["contract_tourist"]["loaded"] == entities["contract_tourist"]["read"] > 0


# ----------------------------------------------------------------------------------- records

AGENCY = "91210102MA0U76543"  # check digit made below
STREAMS_MAPPING = """
name: two_streams
description: groups and their tourists on two streams of one API
headers: canonical
entities:
  tour_group: {when: group_type not null}
  group_member: {when: doc_no not null}
"""


def _agency() -> str:
    from stdnum.cn import uscc

    return AGENCY[:17] + uscc.calc_check_digit(AGENCY[:17])


def _stream_frames() -> tuple[SourceFrame, SourceFrame]:
    organizer = _agency()
    groups = pl.DataFrame({
        "group_code": ["G1", "G2", "G3"], "organizer_uscc": [organizer] * 3, "group_type": ["DOMESTIC"] * 3,
        "start_date": ["2026-03-10"] * 3, "end_date": ["2026-03-14"] * 3, "destinations": ["210200"] * 3,
        "tourist_count": ["2", "2", BAD_GROUP_TOURISTS], "status": ["SUBMITTED"] * 3,
        "submitted_at": ["2026-03-01 10:00"] * 3, "updated_at": ["2026-03-01 10:00"] * 3,
    }).with_columns(pl.Series(ROW, [1, 2, 3], dtype=pl.Int64))
    members = pl.DataFrame({
        "organizer_uscc": [organizer] * 6, "group_code": ["G1", "G1", "G2", "G2", "G3", "G9"],
        "seq_no": ["1", "2", "1", "2", "1", "1"], "name": [f"游客{i}" for i in range(6)], "gender": ["M"] * 6,
        "birth_date": ["1980-01-02"] * 6, "doc_type": ["CN_PASSPORT"] * 6, "doc_no": [f"E1234567{i}" for i in range(6)],
        "nationality": ["CHN"] * 6,
    }).with_columns(pl.Series(ROW, range(1, 7), dtype=pl.Int64))
    return SourceFrame(groups, file="groups-page-0001.json"), SourceFrame(members, file="members-page-0001.json")


@pytest.mark.parametrize("order", ["parents_first", "children_first"])
def test_the_streams_of_one_api_sync_load_the_same_whichever_comes_first(order, tmp_path, tourlink_home):
    """One mapping over several streams: the order of the frames cannot be chosen from a header, so a
    child whose parent comes later in the batch waits for the end of the batch instead of being ORPHAN."""
    mapping = tmp_path / "two_streams.yaml"
    mapping.write_text(STREAMS_MAPPING, encoding="utf-8")
    groups, members = _stream_frames()
    frames = [groups, members] if order == "parents_first" else [members, groups]
    wh = Warehouse(f"sqlite:///{tmp_path / 'w.db'}", landing_dir=tmp_path / "landing")
    result = load_batch(record_inputs(frames, str(mapping)), source="api", warehouse=wh)
    with wh.engine.connect() as conn:
        loaded = conn.execute(sa.text("select group_code, seq_no from group_member order by 1, 2")).all()
        orphans = conn.execute(sa.text("select natural_key, rules from quarantine where entity = 'group_member'")).all()
    wh.engine.dispose()
    assert [tuple(r) for r in loaded] == [("G1", 1), ("G1", 2), ("G2", 1), ("G2", 2)]
    assert result.counts("group_member").quarantined == 2
    by_group = {json.loads(key)["group_code"]: json.loads(rules) if isinstance(rules, str) else rules for key, rules in orphans}
    assert set(by_group) == {"G3", "G9"}  # a rejected parent (G3) and one that never came (G9)
    assert all([r["rule"] for r in rules] == ["ORPHAN"] for rules in by_group.values())


# ----------------------------------------------------------------------------------- replay


def test_a_replay_whose_child_sheet_comes_first_loads_what_parents_first_loads(tmp_path, tourlink_home):
    """A group rejected at import leaves its tourists ORPHAN; the agency fixes the group. The
    correction workbook lists its sheets by file name (`group_member` before `tour_group`): replayed
    as exported, or with the group's sheet moved first, it loads the same and resolves every entry."""
    import openpyxl

    from tourlink.report.fix_template import collect_rows, write_fix_template
    from tourlink.report.replay import replay

    from .filings import AGENCY_CSV, GROUP_HEADER, ORGANIZER, group_line
    from .test_streamed_batch import MEMBER_HEADER, member_line

    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "travel_agency.csv").write_text(AGENCY_CSV, encoding="utf-8")
    (upload / "tour_group.csv").write_text(GROUP_HEADER + group_line("G01", 3) + group_line("G02", 0), encoding="utf-8")
    (upload / "group_member.csv").write_text(
        MEMBER_HEADER + "".join(member_line(g, s) for g in ("G01", "G02") for s in (1, 2, 3)), encoding="utf-8"
    )
    workbooks, seen = {}, {}
    for order in ("as_exported", "parents_first"):
        wh = Warehouse(f"sqlite:///{tmp_path / f'{order}.db'}", landing_dir=tmp_path / f"landing-{order}")
        first = import_files(sorted(upload.iterdir()), warehouse=wh)
        assert (first.counts("tour_group").quarantined, first.counts("group_member").quarantined) == (1, 3)
        fix = tmp_path / order / "更正.xlsx"  # one name: the replayed rows' lineage names the workbook
        fix.parent.mkdir()
        with wh.engine.connect() as conn:
            write_fix_template(collect_rows(conn, ORGANIZER), ORGANIZER, fix)
        wb = openpyxl.load_workbook(fix)
        titles = [ws.title for ws in wb.worksheets[:2]]
        assert titles == ["group_member", "tour_group"]
        groups = wb["tour_group"]
        column = [c.value for c in groups[1]].index("tourist_count") + 1
        groups.cell(2, column).value = "3"  # the agency's correction
        if order == "parents_first":
            wb.move_sheet("tour_group", offset=-1)
        wb.save(fix)
        workbooks[order] = fix
        result = replay(fix, warehouse=wh)
        assert result.still_open == [] and len(result.resolved) == 4
        seen[order] = snapshot(wh.engine)
        wh.engine.dispose()
    assert [ws.title for ws in openpyxl.load_workbook(workbooks["parents_first"]).worksheets[:2]] == ["tour_group", "group_member"]
    assert len(seen["as_exported"]["group_member"]) == 6
    assert seen["as_exported"] == seen["parents_first"]
