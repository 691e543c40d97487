"""`connector check` talks to the vendor: what stops it, what the vendor answers, what READY means."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import yaml
from typer.testing import CliRunner

from devkit.onboarding.check import readiness
from devkit.onboarding.scaffold import scaffold
from tests.devkit.onboarding.conftest import CREDENTIALS, sample_urls
from tourlink.cli import app

REPO = Path(__file__).resolve().parents[3]


def reviewed(vendor, out: Path, **registry) -> Path:
    """`connector new` from the vendor, the review (the dialect's hand-written mapping), registry edits."""
    made = scaffold("qiantang", "signed-json", sample_urls(vendor), out=out, region="330000", credentials=CREDENTIALS)
    shutil.copyfile(REPO / "mappings" / "sources" / "signed_json.yaml", made.mapping)
    spec = yaml.safe_load(made.registry.read_text(encoding="utf-8"))
    spec.update(registry)
    made.registry.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_reviewed_source_is_ready_on_the_vendors_real_data_with_its_bad_records_counted_apart(vendor, tmp_path) -> None:
    report = readiness("qiantang", root=reviewed(vendor, tmp_path))
    assert report.live is not None and report.live.problems == []
    assert report.live.streams == {"teams": 24, "contracts": 12}
    assert report.findings.mapping == []
    assert {(f.entity, f.rule) for f in report.findings.data} == {
        ("tour_group", "USCC_CHECKSUM"), ("group_member", "RIC_CHECKSUM"), ("e_contract", "DATE_ORDER")}
    assert report.findings.bad_rows == {"tour_group": 1, "group_member": 1, "e_contract": 1}
    assert report.findings.held_back == {"group_member": 4, "group_staff": 1, "contract_tourist": 3}
    assert report.ready


def test_a_placeholder_address_and_unset_credentials_are_not_ready_and_nothing_is_sent(vendor, tmp_path, monkeypatch) -> None:
    root = reviewed(vendor, tmp_path, base_url="https://vendor.example.cn")
    monkeypatch.delenv("QIANTANG_SIGN_KEY")
    before = vendor.requests
    result = CliRunner().invoke(app, ["connector", "check", "qiantang", "--root", str(root)])
    assert result.exit_code == 4, result.output
    assert "base_url https://vendor.example.cn is a placeholder" in result.output
    assert "QIANTANG_SIGN_KEY is not set" in result.output and "NOT READY" in result.output
    assert vendor.requests == before


def test_the_vendors_error_envelope_is_not_ready_with_its_code(vendor, tmp_path, monkeypatch) -> None:
    root = reviewed(vendor, tmp_path)
    monkeypatch.setenv("QIANTANG_SIGN_KEY", "not-the-key")
    result = CliRunner().invoke(app, ["connector", "check", "qiantang", "--root", str(root), "--live"])
    assert result.exit_code == 4
    assert "40001" in result.output and "could not be read" in result.output
    assert "not-the-key" not in result.output


def test_an_unreachable_vendor_is_not_ready(vendor, tmp_path) -> None:
    root = reviewed(vendor, tmp_path, base_url=f"http://127.0.0.1:{_closed_port()}", options={"max_attempts": 1, "timeout_seconds": 2})
    report = readiness("qiantang", root=root)
    assert not report.ready and report.live.ran
    assert any("could not be read" in p for p in report.live.problems)


def test_a_vendor_ignoring_the_incremental_window_is_not_ready(vendor, tmp_path) -> None:
    vendor.honour_window = False
    report = readiness("qiantang", root=reviewed(vendor, tmp_path))
    assert any("incremental window is not honoured" in p for p in report.live.problems)
    assert not report.ready


def test_offline_maps_the_recorded_responses_without_contacting_the_vendor(vendor, tmp_path) -> None:
    root = reviewed(vendor, tmp_path)
    before = vendor.requests
    report = readiness("qiantang", root=root, live=False)
    assert report.live is None and vendor.requests == before
    assert report.ready and report.rows["tour_group"] == 24


def test_before_review_the_unknown_codes_are_mapping_problems_not_bad_records(vendor, tmp_path) -> None:
    scaffold("qiantang", "signed-json", sample_urls(vendor), out=tmp_path, region="330000", credentials=CREDENTIALS)
    report = readiness("qiantang", root=tmp_path)
    problems = {(f.entity, f.field, f.rule) for f in report.findings.mapping}
    assert ("tour_group", "group_type", "CODE_LIST") in problems and ("contract_tourist", "doc_no", "REQUIRED") in problems
    assert not report.ready and report.live.problems == []
