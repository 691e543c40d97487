"""`tourlink connector new` and `tourlink connector check`: what they write, what they report."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from connectors.registry import get_source
from devkit.onboarding.check import readiness
from devkit.onboarding.scaffold import ScaffoldError, env_name, scaffold
from tests.devkit.onboarding.test_accuracy import DIALECTS, record_samples
from tourlink.cli import app

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "tests" / "connectors" / "samples" / "sandbox_jsonapi" / "tour-groups.json"


def test_credentials_are_env_references_named_after_the_source_never_values(tmp_path) -> None:
    made = scaffold("acme_tours", "oauth-cursor", [str(SAMPLE)], out=tmp_path)
    spec = yaml.safe_load(made.registry.read_text(encoding="utf-8"))
    assert spec["credentials"] == {"client_id": "env:ACME_TOURS_CLIENT_ID", "client_secret": "env:ACME_TOURS_CLIENT_SECRET"}
    assert get_source("acme_tours", tmp_path / "connectors" / "sources").credentials == spec["credentials"]
    assert env_name("sandbox-jsonapi", "token") == "SANDBOX_JSONAPI_TOKEN"


def test_new_writes_registry_mapping_sample_and_test_under_out_and_nothing_in_the_repo(tmp_path) -> None:
    before = set((REPO / "connectors" / "sources").iterdir())
    result = CliRunner().invoke(app, ["connector", "new", "acme_tours", "--dialect", "rest", "--sample", str(SAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "connectors/sources/acme_tours.yaml").is_file()
    assert (tmp_path / "mappings/sources/acme_tours.yaml").is_file()
    assert (tmp_path / "tests/connectors/samples/acme_tours/tour-groups.json").read_bytes() == SAMPLE.read_bytes()
    assert (tmp_path / "tests/connectors/test_acme_tours_conformance.py").is_file()
    assert set((REPO / "connectors" / "sources").iterdir()) == before
    registry = yaml.safe_load((tmp_path / "connectors/sources/acme_tours.yaml").read_text(encoding="utf-8"))
    assert registry["mapping"] == str(tmp_path / "mappings/sources/acme_tours.yaml"), "outside the repo the mapping is named by path"
    assert registry["options"]["format"] == "jsonapi" and registry["options"]["next"] == "links.next"
    assert registry["options"]["total"] == "meta.total" and registry["options"]["list_columns"] == ["travelers", "escorts"]
    assert "# REVIEW paths.tour-groups" in (tmp_path / "connectors/sources/acme_tours.yaml").read_text(encoding="utf-8")
    assert "confidence" in result.output


def test_new_refuses_to_overwrite_and_bad_names(tmp_path) -> None:
    scaffold("acme_tours", "rest", [str(SAMPLE)], out=tmp_path)
    with pytest.raises(ScaffoldError, match="already exists"):
        scaffold("acme_tours", "rest", [str(SAMPLE)], out=tmp_path)
    with pytest.raises(ScaffoldError, match="lower-case"):
        scaffold("Acme Tours", "rest", [str(SAMPLE)], out=tmp_path)
    with pytest.raises(ScaffoldError, match="dialect"):
        scaffold("acme", "soap", [str(SAMPLE)], out=tmp_path)


def test_check_reports_quarantined_rows_with_rule_and_chinese_message_and_exits_4(tmp_path) -> None:
    scaffold("acme_tours", "rest", [str(SAMPLE)], out=tmp_path, mapping_name="acme")
    report = readiness("acme_tours", root=tmp_path)
    assert not report.ready and report.conformance is None, "not tagged sandbox: the kit does not run"
    rules = {(q["entity"], q["rule"], q["field"]) for q in report.quarantined}
    assert ("tour_group", "CODE_LIST", "status") in rules
    assert any("不在代码表中" in q["message"] for q in report.quarantined)
    assert report.missing == [] and report.rows["tour_group"] == 20
    result = CliRunner().invoke(app, ["connector", "check", "acme_tours", "--root", str(tmp_path)])
    assert result.exit_code == 4
    assert "CODE_LIST" in result.output and "NOT READY" in result.output


def test_the_shipped_jsonapi_source_is_ready() -> None:
    report = readiness("sandbox_jsonapi", conformance=False)
    assert report.ready, report
    assert report.pagination["incremental"] is True


@pytest.mark.slow
@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_after_review_check_passes_for_each_sandbox_erp_including_the_conformance_kit(dialect, tmp_path, tourlink_home) -> None:
    """Issue 8: `connector check` passes after review. The review of an existing dialect is its
    hand-written mapping; the registry file gets the `sandbox` tag and the dialect's region."""
    registered = get_source(DIALECTS[dialect])
    (tmp_path / "recorded").mkdir()
    samples = record_samples(DIALECTS[dialect], tmp_path / "recorded")
    made = scaffold(f"new_{dialect}", registered.dialect, [str(p) for p in samples], out=tmp_path / "out", region=registered.region)
    shutil.copyfile(REPO / "mappings" / "sources" / f"{dialect}.yaml", made.mapping)  # the review
    spec = yaml.safe_load(made.registry.read_text(encoding="utf-8"))
    spec["tags"].append("sandbox")
    made.registry.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    report = readiness(f"new_{dialect}", root=tmp_path / "out")
    assert report.conformance == [], report.conformance
    assert report.ready, (report.missing, report.quarantined[:3], report.review)


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOURLINK_", "PYTEST_"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "tests/connectors"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def test_the_scaffolded_test_runs_from_the_out_folder_against_the_recorded_sample_not_another_emulator(tmp_path) -> None:
    made = scaffold("acme_tours", "rest", [str(SAMPLE)], out=tmp_path, mapping_name="acme", region="440000")
    shutil.copyfile(REPO / "mappings" / "sources" / "jsonapi.yaml", made.mapping)  # the review
    run = _pytest(tmp_path)
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout + run.stderr
    assert "conforms" not in _pytest(tmp_path, "--collect-only").stdout, "not tagged sandbox: no emulator is started"
    spec = yaml.safe_load(made.registry.read_text(encoding="utf-8"))
    spec["tags"].append("sandbox")
    made.registry.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    assert "test_acme_tours_conforms" in _pytest(tmp_path, "--collect-only").stdout
