"""`tourlink import` of files a committed batch already holds: skipped by default, named with the
batch that loaded them; `--force` reads, validates and merges them again (issue 9)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from stdnum.cn import uscc
from typer.testing import CliRunner

from tourlink.cli import app

runner = CliRunner()

ORGANIZER = "91210102MA0U4321" + "0"
ORGANIZER = ORGANIZER[:17] + uscc.calc_check_digit(ORGANIZER[:17])


def tourlink(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def query(home: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(home / "warehouse.db") as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def groups_csv(tmp_path) -> Path:
    path = tmp_path / "tour_group[2026-03].csv"  # brackets: printed as they are, not as console markup
    path.write_text(
        "group_code,organizer_uscc,group_type,start_date,end_date,destinations,tourist_count,status,submitted_at,updated_at\n"
        + "".join(
            f"DOM-{n},{ORGANIZER},DOMESTIC,2026-03-10,2026-03-14,210200,2,SUBMITTED,2026-03-01 10:00,2026-03-01 10:00\n"
            for n in range(1, 4)
        ),
        encoding="utf-8",
    )
    return path


def test_a_file_imported_before_is_skipped_naming_its_batch_and_force_reimports_it(tourlink_home, groups_csv):
    first = json.loads(tourlink("import", str(groups_csv), "--json"))
    assert first["entities"]["tour_group"]["loaded"] == 3 and first["skipped"] == []

    printed = tourlink("import", str(groups_csv))  # exit 0: nothing to do is not an error

    (line,) = [line for line in printed.splitlines() if line.strip()]
    assert line.startswith(f"{groups_csv}: already loaded by batch {first['batch_id']}")
    assert "`--force` re-imports it" in line
    assert query(tourlink_home, "select batch_id from batch") == [(first["batch_id"],)]

    as_json = json.loads(tourlink("import", str(groups_csv), "--json"))
    assert as_json["batch_id"] is None and as_json["entities"] == {}
    assert [(s["file"], s["batch_id"]) for s in as_json["skipped"]] == [(str(groups_csv), first["batch_id"])]

    forced = json.loads(tourlink("import", str(groups_csv), "--force", "--json"))

    assert forced["batch_id"] not in (None, first["batch_id"]) and forced["skipped"] == []
    assert forced["entities"]["tour_group"] == {"read": 3, "loaded": 0, "quarantined": 0, "unchanged": 3}
    assert query(tourlink_home, "select count(*) from batch where status = 'committed'") == [(2,)]


def test_only_the_unchanged_file_of_a_call_is_skipped(tourlink_home, groups_csv, tmp_path):
    first = json.loads(tourlink("import", str(groups_csv), "--json"))
    other = tmp_path / "tour_group_april.csv"
    other.write_text(groups_csv.read_text(encoding="utf-8").replace("DOM-", "APR-"), encoding="utf-8")

    printed = tourlink("import", str(groups_csv), str(other))

    assert f"{groups_csv}: already loaded by batch {first['batch_id']}" in printed
    assert str(other) not in printed  # imported, so counted in the table, not listed as skipped
    assert "tour_group" in printed  # the counts table of the new batch
    assert query(tourlink_home, "select count(*) from tour_group") == [(6,)]


def test_rows_rejected_again_on_a_forced_import_are_pointed_to_where_their_entries_are(tourlink_home, groups_csv):
    """The same row with the same rules stays in its earlier entry (never two open entries for one
    row): the hint names that batch, and only the rows new to quarantine under the new batch."""
    text = groups_csv.read_text(encoding="utf-8").replace(f"DOM-2,{ORGANIZER}", "DOM-2,91210102MA0U43210X")
    groups_csv.write_text(text, encoding="utf-8")
    first = json.loads(tourlink("import", str(groups_csv), "--json"))
    assert first["entities"]["tour_group"]["quarantined"] == 1
    assert first["quarantine_entries"] == {first["batch_id"]: 1}

    groups_csv.write_text(text.replace(f"DOM-3,{ORGANIZER}", "DOM-3,91210102MA0U43211X"), encoding="utf-8")
    printed = tourlink("import", str(groups_csv), "--force")

    (forced,) = query(tourlink_home, f"select batch_id from batch where batch_id != '{first['batch_id']}'")[0]
    assert "2 rows quarantined" in printed
    assert f"1 new entries: `tourlink quarantine list --batch {forced}`" in printed
    assert f"1 already open from batch {first['batch_id']}" in printed
    assert f"`tourlink quarantine list --batch {first['batch_id']}`" in printed
    held = query(tourlink_home, "select batch_id, natural_key from quarantine where status = 'open' order by id")
    assert [b for b, _ in held] == [first["batch_id"], forced] and "DOM-2" in held[0][1] and "DOM-3" in held[1][1]
