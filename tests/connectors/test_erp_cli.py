"""The registry and its commands: `tourlink sources list`, `sources check`, `sync --json` as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from connectors.registry import DIALECT_SYNC, SyncResult, load_sources

TOURLINK = str(Path(sys.executable).parent / "tourlink")


def _registry(box, tmp_path: Path) -> Path:
    folder = tmp_path / "registry"
    folder.mkdir()
    spec = yaml.safe_load(Path(box.source.path).read_text(encoding="utf-8")) | {"base_url": box.sandbox.url, "options": box.source.options}
    (folder / f"{box.source.name}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return folder


def test_the_repository_registry_declares_the_three_sandbox_erps_with_references_only():
    sources = load_sources()
    for name in ("sandbox_signed_json", "sandbox_oauth_cursor", "sandbox_legacy_xml"):
        assert sources[name].dialect in DIALECT_SYNC
        assert all(ref.startswith("env:") for ref in sources[name].credentials.values())


def test_a_sync_result_is_json():
    result = SyncResult("s", "b1", streams={"teams": 3}, entities={"tour_group": {"loaded": 3}}, pages=1, requests=2)
    assert json.loads(result.to_json())["streams"] == {"teams": 3}


def test_sources_check_and_sync_from_the_command_line(sandbox_signed_json, tourlink_home, tmp_path):
    folder = _registry(sandbox_signed_json, tmp_path)
    check = subprocess.run([TOURLINK, "sources", "check", "sandbox_signed_json", "--registry", str(folder)],
                           env=os.environ.copy(), capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and "OK" in check.stdout
    assert not (tourlink_home / "warehouse.db").exists()
    synced = subprocess.run([TOURLINK, "sync", "sandbox_signed_json", "--json", "--registry", str(folder)],
                            env=os.environ.copy(), capture_output=True, text=True, timeout=300)
    summary = json.loads(synced.stdout.strip().splitlines()[-1])
    assert summary["entities"]["tour_group"]["loaded"] == 30
    assert summary["streams"] == {"teams": 30, "contracts": len(sandbox_signed_json.sandbox.data.contracts)}


def test_a_missing_secret_fails_the_command_naming_the_variable(sandbox_signed_json, tourlink_home, tmp_path):
    folder = _registry(sandbox_signed_json, tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "SANDBOX_SIGNED_JSON_SIGN_KEY"}
    run = subprocess.run([TOURLINK, "sync", "sandbox_signed_json", "--registry", str(folder)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 3
    assert "SANDBOX_SIGNED_JSON_SIGN_KEY" in run.stderr
