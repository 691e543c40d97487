"""Staging's ORPHAN lookups (`tourlink.flow.staging._ParentKeys`): a child's parent is one this batch
staged as good or one the warehouse stores; the batch's own parents answer first, and the warehouse is
asked only for the keys they do not hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from tourlink.flow import import_files
from warehouse.load import Warehouse

from .filings import GROUP_HEADER, ORGANIZER, group_line, rows

MEMBER_HEADER = "organizer_uscc,group_code,seq_no,name,gender,birth_date,doc_type,doc_no,nationality\n"


def _groups(tmp_path: Path, name: str, codes: list[str]) -> Path:
    path = tmp_path / name
    path.write_text(GROUP_HEADER + "".join(group_line(c, 2) for c in codes), encoding="utf-8")
    return path


def _members(tmp_path: Path, codes: list[str]) -> Path:
    path = tmp_path / "group_member.csv"
    lines = [f"{ORGANIZER},{c},{s},游客{c}{s},M,1980-01-0{s},CN_PASSPORT,E1234567{s},CHN\n" for c in codes for s in (1, 2)]
    path.write_text(MEMBER_HEADER + "".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def asked(warehouse: Warehouse, monkeypatch) -> list[list[str]]:
    """The group codes each warehouse lookup of parent keys asked for (the real lookup still answers)."""
    calls: list[list[str]] = []
    real = Warehouse.existing_keys_readonly

    def spy(self, entity, keys):
        calls.append(sorted(keys["group_code"].to_list()) if "group_code" in keys.columns else [entity])
        return real(self, entity, keys)

    monkeypatch.setattr(Warehouse, "existing_keys_readonly", spy)
    return calls


def test_members_whose_groups_the_batch_staged_do_not_ask_the_warehouse(warehouse, tmp_path, agency_csv, asked):
    codes = [f"G{g:02d}" for g in range(6)]
    result = import_files([agency_csv, _groups(tmp_path, "tour_group.csv", codes), _members(tmp_path, codes)],
                          warehouse=warehouse, chunk_rows=4)  # fmt: skip

    assert result.counts("group_member").loaded == 12
    assert result.counts("group_member").quarantined == 0
    assert asked == []  # every chunk's groups were this batch's own


def test_only_the_groups_the_batch_did_not_stage_are_looked_up_in_the_warehouse(warehouse, tmp_path, agency_csv, asked):
    stored, new = [f"G{g:02d}" for g in range(3)], [f"G{g:02d}" for g in range(3, 6)]
    import_files([agency_csv, _groups(tmp_path, "earlier.csv", stored)], warehouse=warehouse)
    asked.clear()

    result = import_files([_groups(tmp_path, "tour_group.csv", new), _members(tmp_path, stored + new)],
                          warehouse=warehouse, chunk_rows=100)  # fmt: skip

    assert result.counts("group_member").loaded == 12  # stored and staged parents both count
    assert asked == [stored]


def test_a_member_whose_group_is_neither_staged_nor_stored_is_an_orphan(warehouse, tmp_path, agency_csv, asked):
    result = import_files([agency_csv, _groups(tmp_path, "tour_group.csv", ["G00"]), _members(tmp_path, ["G00", "G09"])],
                          warehouse=warehouse, chunk_rows=100)  # fmt: skip

    assert result.counts("group_member").loaded == 2
    assert result.counts("group_member").quarantined == 2
    assert asked == [["G09"], ["G09"]]  # in its chunk, and again at the end (its group might have come later)
    held = rows(warehouse, "select entity, row, rules from quarantine order by row")
    assert [(entity, row) for entity, row, _ in held] == [("group_member", 4), ("group_member", 5)]
    assert all("ORPHAN" in str(rules) for _, _, rules in held)
