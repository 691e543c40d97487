"""`import_files(skip_loaded=True)`: a file whose exact bytes a committed batch already holds is left
out unread and reported with that batch; anything else (a changed byte, a file whose batch failed)
is imported as usual (issue 9)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tourlink import crash_points
from tourlink.flow import import_files

from .filings import GROUP_HEADER, group_line, rows

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def groups_csv(tmp_path) -> Path:
    path = tmp_path / "tour_group.csv"
    path.write_text(GROUP_HEADER + group_line("DOM-1", 2) + group_line("DOM-2", 4), encoding="utf-8")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_a_committed_batch_holds_is_skipped_and_no_batch_is_written(warehouse, agency_csv, groups_csv):
    first = import_files([agency_csv, groups_csv], warehouse=warehouse)
    batches = rows(warehouse, "select batch_id, status from batch")
    groups = rows(warehouse, "select group_code, tourist_count from tour_group order by 1")

    again = import_files([groups_csv, agency_csv], warehouse=warehouse, skip_loaded=True)

    assert again.batch_id is None
    assert again.entities == {} and again.files == []
    assert again.skipped == [
        {"file": str(groups_csv), "sha256": sha256(groups_csv), "batch_id": first.batch_id},
        {"file": str(agency_csv), "sha256": sha256(agency_csv), "batch_id": first.batch_id},
    ]
    assert again.to_json()["skipped"] == again.skipped
    assert rows(warehouse, "select batch_id, status from batch") == batches == [(first.batch_id, "committed")]
    assert rows(warehouse, "select group_code, tourist_count from tour_group order by 1") == groups


def test_a_forced_reload_is_still_held_by_the_first_batch_and_the_default_reads_everything(
    warehouse, agency_csv, groups_csv
):
    first = import_files([agency_csv, groups_csv], warehouse=warehouse)

    forced = import_files([agency_csv, groups_csv], warehouse=warehouse)  # the library default: no skipping
    skipped = import_files([agency_csv], warehouse=warehouse, skip_loaded=True)

    assert forced.skipped == [] and forced.counts("tour_group").unchanged == 2
    assert skipped.skipped == [{"file": str(agency_csv), "sha256": sha256(agency_csv), "batch_id": first.batch_id}]
    assert warehouse.file_loaded(sha256(agency_csv))


def test_a_file_one_byte_changed_is_imported_beside_an_unchanged_one_skipped(warehouse, agency_csv, groups_csv):
    first = import_files([agency_csv, groups_csv], warehouse=warehouse)
    text = groups_csv.read_text(encoding="utf-8")
    groups_csv.write_text(text.replace(group_line("DOM-2", 4), group_line("DOM-2", 5)), encoding="utf-8")
    assert groups_csv.stat().st_size == len(text.encode())  # one byte differs, same size

    second = import_files([agency_csv, groups_csv], warehouse=warehouse, skip_loaded=True)

    assert second.batch_id not in (None, first.batch_id)
    assert second.skipped == [{"file": str(agency_csv), "sha256": sha256(agency_csv), "batch_id": first.batch_id}]
    assert second.files == [str(groups_csv)]
    assert set(second.entities) == {"tour_group"}  # the agency file was not read
    assert (second.counts("tour_group").loaded, second.counts("tour_group").unchanged) == (1, 1)
    assert rows(warehouse, "select group_code, tourist_count from tour_group order by 1") == [("DOM-1", 2), ("DOM-2", 5)]
    assert rows(warehouse, f"select sha256 from batch_file where batch_id = '{second.batch_id}'") == [
        (sha256(groups_csv),)
    ]


def _kill_at_commit(url: str, landing: Path, files: list[Path]) -> None:
    """A real import in another process, SIGKILLed inside its commit (after the files were recorded)."""
    script = (
        "import sys; from pathlib import Path; from tourlink.flow import import_files; "
        "from warehouse.load import Warehouse; "
        "import_files(sys.argv[3:], warehouse=Warehouse(sys.argv[1], landing_dir=Path(sys.argv[2])))"
    )
    env = {**os.environ, "TOURLINK_CRASH_AT": "merged:tour_group"}
    killed = subprocess.run([sys.executable, "-c", script, url, str(landing), *map(str, files)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]


def _raise_at_commit(wh, files: list[Path], monkeypatch) -> None:
    """A real import whose commit fails with an exception after the files were recorded."""

    def fail(point: str) -> None:
        if point == "merged:tour_group":
            raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(crash_points, "reached", fail)
        with pytest.raises(OSError, match="disk full"):
            import_files(files, warehouse=wh)
    assert rows(wh, "select status from batch") == [("failed",)]


@pytest.mark.parametrize("failure", ["raised", "killed"])
def test_a_file_whose_only_batch_failed_is_imported_again(warehouse, warehouse_url, agency_csv, groups_csv,
                                                          failure, monkeypatch):  # fmt: skip
    files = [agency_csv, groups_csv]
    if failure == "raised":
        _raise_at_commit(warehouse, files, monkeypatch)
    else:
        _kill_at_commit(warehouse_url, warehouse.landing_dir, files)
    assert rows(warehouse, "select count(*) from tour_group") == [(0,)]
    assert not warehouse.file_loaded(sha256(groups_csv))

    result = import_files(files, warehouse=warehouse, skip_loaded=True)

    assert result.skipped == []
    assert result.batch_id is not None
    assert result.counts("tour_group").loaded == 2 and result.counts("travel_agency").loaded == 1
    assert warehouse.loaded_by(sha256(groups_csv)) == result.batch_id
