"""Storage every worker reaches, chosen by TOURLINK_STORAGE_URL: a folder under TOURLINK_HOME by
default, object storage (a real S3-compatible server on loopback) for a deployment. What one worker
puts, another (another local folder) gets; a hand-over that is not there fails, naming where it looked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dags.conftest import s3_server, s3_storage  # noqa: F401  (fixtures)
from tourlink import nightly, storage


def _a_run_folder(root: Path) -> Path:
    (root / "raw").mkdir(parents=True)
    (root / "raw" / "00000-page.json").write_text('{"page": 1}', encoding="utf-8")
    (root / "frame-00000.parquet").write_bytes(b"PAR1 not really")
    return root


@pytest.fixture(params=["local", "s3"])
def place_kind(request, tourlink_home, monkeypatch):
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
    else:
        monkeypatch.delenv("TOURLINK_STORAGE_URL", raising=False)
    return request.param


def test_the_default_is_a_folder_under_tourlink_home(tourlink_home, monkeypatch):
    monkeypatch.delenv("TOURLINK_STORAGE_URL", raising=False)
    assert storage.storage_url() == (tourlink_home / "storage").as_posix()
    assert storage.hand_over("erp", "manual__2026-11-22T02:00:00+08:00").url.startswith(f"file://{tourlink_home}/storage/runs/erp/")


def test_what_one_worker_hands_over_another_worker_gets_into_its_own_folder(place_kind, tmp_path):
    worker_a, worker_b = tmp_path / "worker-a", tmp_path / "worker-b"
    place = storage.hand_over("erp", "scheduled__2026-11-22T02:00:00+08:00")
    assert place.put_folder(_a_run_folder(worker_a)) == 2
    place.write_json("extract.json", {"pages": 1, "extracted": True})
    assert place.get_folder("", worker_b) == 3
    assert (worker_b / "raw" / "00000-page.json").read_text(encoding="utf-8") == '{"page": 1}'
    assert place.read_json("extract.json", missing="x") == {"pages": 1, "extracted": True}
    place.remove()
    assert not place.exists()


def test_a_missing_hand_over_fails_naming_where_it_was_looked_for(place_kind):
    place = storage.hand_over("erp", "run-1")
    with pytest.raises(storage.HandOverMissing, match=r"extract task.*nothing at (file|s3)://.*runs/erp/run-1/extract.json"):
        place.read_json("extract.json", missing="no hand-over from the extract task")
    with pytest.raises(storage.HandOverMissing, match="nothing at"):
        place.get_folder("staged", Path("/nonexistent"))


def test_validate_and_merge_fail_loudly_when_the_previous_task_handed_nothing_over(place_kind):
    with pytest.raises(storage.HandOverMissing, match="extract task of sandbox_signed_json run r1"):
        nightly.validate("sandbox_signed_json", "r1")
    with pytest.raises(storage.HandOverMissing, match="validate task of sandbox_signed_json run r1"):
        nightly.merge("sandbox_signed_json", "r1")


def test_an_extract_that_read_pages_but_handed_over_no_records_fails_validate(place_kind):
    storage.hand_over("src", "r2").write_json("extract.json", {"pages": 3, "extracted": False})
    with pytest.raises(storage.HandOverMissing, match="read 3 pages of src but handed over no records"):
        nightly.validate("src", "r2")


def test_an_extract_that_read_nothing_validates_and_merges_to_nothing(place_kind):
    storage.hand_over("src", "r3").write_json("extract.json", {"pages": 0, "extracted": False})
    assert nightly.validate("src", "r3") == {"entities": {}, "nothing_extracted": True}
    assert nightly.merge("src", "r3") == {"entities": {}}
    assert not storage.hand_over("src", "r3").exists()


def test_reports_and_landed_inputs_are_copied_to_storage(place_kind, tmp_path):
    reports = tmp_path / "reports"
    (reports / "2026-11-22" / "CN").mkdir(parents=True)
    (reports / "2026-11-22" / "CN" / "report.html").write_text("<html/>", encoding="utf-8")
    kept = storage.keep_reports([str(reports / "2026-11-22" / "CN")], reports)
    assert kept[0].endswith("reports/2026-11-22/CN")
    assert storage.Place("reports").exists("2026-11-22/CN/report.html")
    landing = tmp_path / "landing"
    (landing / "ab").mkdir(parents=True)
    (landing / "ab" / "abcd.json").write_text("{}", encoding="utf-8")
    storage.keep_landed(landing, ["ab/abcd.json"])
    assert storage.Place("landing").exists("ab/abcd.json")
