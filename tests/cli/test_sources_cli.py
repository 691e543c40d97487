"""The registry and its commands: `tourlink sources list`, `sources check`, `sync --json` as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from connectors.dialects import DIALECTS
from connectors.registry import load_sources
from tourlink.flow import SyncResult

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
        assert sources[name].dialect in DIALECTS
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


def test_sources_list_shows_every_registered_source_without_any_secret(monkeypatch):
    monkeypatch.setenv("SANDBOX_SIGNED_JSON_SIGN_KEY", "a-secret-that-must-not-show")
    listed = subprocess.run([TOURLINK, "sources", "list", "--json"], env=os.environ.copy(), capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == set(load_sources())
    assert rows["sandbox_legacy_xml"]["dialect"] == "legacy-xml" and rows["sandbox_oauth_cursor"]["streams"] == ["groups", "contracts"]
    plain = subprocess.run([TOURLINK, "sources", "list"], env=os.environ.copy(), capture_output=True, text=True, timeout=120)
    assert "sandbox_jsonapi" in plain.stdout
    assert "a-secret-that-must-not-show" not in listed.stdout + plain.stdout


def test_a_rejected_secret_never_appears_in_the_commands_output(sandbox_oauth_cursor, tourlink_home, tmp_path, monkeypatch):
    folder = _registry(sandbox_oauth_cursor, tmp_path)
    wrong = "wrong-client-secret-" + "x" * 12
    monkeypatch.setenv("SANDBOX_OAUTH_CLIENT_SECRET", wrong)
    for command in (["sync", "sandbox_oauth_cursor"], ["sources", "check", "sandbox_oauth_cursor"]):
        run = subprocess.run([TOURLINK, *command, "--registry", str(folder)], env=os.environ.copy(), capture_output=True, text=True, timeout=120)
        assert run.returncode == 3, run.stderr
        assert "401" in run.stderr
        assert wrong not in run.stdout + run.stderr
        assert sandbox_oauth_cursor.sandbox.credentials["client_secret"] not in run.stdout + run.stderr


def test_sandbox_up_serves_every_sandbox_source_on_its_registry_port(tmp_path):
    import signal
    import socket
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path / "registry"
    folder.mkdir()
    spec = yaml.safe_load((Path(load_sources()["sandbox_jsonapi"].path)).read_text(encoding="utf-8"))
    (folder / "sandbox_jsonapi.yaml").write_text(yaml.safe_dump(spec | {"base_url": f"http://127.0.0.1:{port}"}), encoding="utf-8")
    proc = subprocess.Popen([TOURLINK, "sandbox", "up", "--registry", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "sandboxes running" in line or not line:
                break
        assert f"sandbox_jsonapi: rest at http://127.0.0.1:{port}" in "".join(lines), "".join(lines)
        export = next(line for line in lines if "export SANDBOX_JSONAPI_TOKEN=" in line)
        token = export.split("=", 1)[1].strip().strip("'")
        url = f"http://127.0.0.1:{port}/v1/tour-groups"
        assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).json()["meta"]["total"] == 40
        assert httpx.get(url).status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_full_refresh_and_since_backfill_from_the_command_line(sandbox_signed_json, tourlink_home, tmp_path):
    from devkit.sandbox.wire import shanghai

    box = sandbox_signed_json
    folder = _registry(box, tmp_path)

    def sync(*flags: str) -> dict:
        run = subprocess.run([TOURLINK, "sync", "sandbox_signed_json", "--json", "--registry", str(folder), *flags],
                             env=os.environ.copy(), capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        return json.loads(run.stdout.strip().splitlines()[-1])

    first = sync()
    refreshed = sync("--full-refresh")
    assert refreshed["streams"] == first["streams"] and refreshed["entities"]["tour_group"]["loaded"] == 0
    teams = sorted(box.sandbox.data.groups, key=lambda g: g["updated_at"])
    since = teams[20]["updated_at"]
    backfill = sync("--since", shanghai(since).replace(" ", "T"))  # a naive time is Asia/Shanghai
    assert backfill["streams"]["teams"] == sum(1 for g in teams if g["updated_at"] >= since) < 30
    assert backfill["watermarks"] == first["watermarks"], "a backfill never moves the watermark back"


def test_a_sync_the_vendor_slowed_down_says_so(sandbox_signed_json, tourlink_home, tmp_path):
    """A gateway taking two requests at once answers 42900 to the rest: the sync completes, and its
    summary says how often the vendor pushed back and how many requests in flight it ended with."""
    folder = _registry(sandbox_signed_json, tmp_path)
    sandbox_signed_json.sandbox.faults.max_in_flight = 2
    sandbox_signed_json.sandbox.faults.latency_seconds = 0.02  # answers overlap, as a real vendor's do
    synced = subprocess.run([TOURLINK, "sync", "sandbox_signed_json", "--registry", str(folder)],
                            env=os.environ.copy(), capture_output=True, text=True, timeout=300)
    assert synced.returncode == 0, synced.stderr
    pushed = sandbox_signed_json.sandbox.throttled
    assert pushed > 0
    assert f"the vendor asked {pushed} times to slow down (rate limited or overloaded);" in synced.stdout
    assert "of 8 requests in flight at the end" in synced.stdout
