"""`tourlink audit` after a steward used the web view in Chromium and the CLI: each action with its
user, channel and scope; `tourlink audit verify` passes, then fails once a row is edited."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.cli.operators import act_as
from tests.report import quarantine_sample as qs
from tests.web.conftest import PASSWORDS
from tourlink.cli import app
from warehouse.load import Warehouse

runner = CliRunner()


@pytest.fixture
def view(tmp_path, tourlink_home, monkeypatch, request):
    """The web view on a warehouse built by the migrations (with the audit triggers), shared with the CLI."""
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    Warehouse(url, landing_dir=tourlink_home / "landing").engine.dispose()
    monkeypatch.setenv("TOURLINK_WAREHOUSE_URL", url)
    return request.getfixturevalue("web_view")


def _cli(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def _events(*args: str) -> list[dict]:
    return [json.loads(line) for line in _cli("audit", "--json", *args).splitlines() if line.startswith("{")]


def test_web_and_cli_actions_are_audited_with_user_and_scope_and_an_edit_is_detected(view, browser, tourlink_home):
    browser.goto(view.url + "/login")
    browser.fill("input[name=username]", "shenyang")
    browser.fill("input[name=password]", "wrong")
    browser.submit("#login")
    browser.fill("input[name=username]", "shenyang")
    browser.fill("input[name=password]", PASSWORDS["shenyang"])
    browser.submit("#login")
    target = view.ids[f"{qs.SHENYANG_B}:3"]
    browser.fill(f"tr.failure[data-id='{target}'] form.waive input[name=reason]", "该团已取消")
    browser.submit(f"tr.failure[data-id='{target}'] form.waive")
    status = browser.eval(f"fetch('/agencies/{qs.SHENYANG_A}/fix.xlsx').then(r => r.status)")
    assert status == 200

    act_as(tourlink_home, "dalian-cli", "2102")
    _cli("quarantine", "list")
    _cli("quarantine", "export", "--agency", qs.DALIAN, "--out", str(tourlink_home / "out" / "fix.xlsx"))
    _cli("quarantine", "list", "--region", "2101", code=2)  # another city's: refused, and logged

    act_as(tourlink_home, "ops", "CN", role="admin")
    events = _events()
    seen = [(e["channel"], e["actor"], e["action"], e["region"], e["outcome"]) for e in events]
    assert seen[:6] == [
        ("web", "shenyang", "login_failed", None, "denied"),
        ("web", "shenyang", "login", "2101", "ok"),
        ("web", "shenyang", "view_page", "2101", "ok"),
        ("web", "shenyang", "waive", "2101", "ok"),
        ("web", "shenyang", "view_page", "2101", "ok"),
        ("web", "shenyang", "export", "2101", "ok"),
    ]
    assert seen[6:9] == [
        ("cli", "dalian-cli", "quarantine_list", "2102", "ok"),
        ("cli", "dalian-cli", "export", "2102", "ok"),
        ("cli", "dalian-cli", "quarantine_list", "2101", "denied"),
    ]
    web_export, cli_export = events[5], events[7]
    assert web_export["unmasked"] and web_export["rows"] > 0 and web_export["origin"] == "127.0.0.1"
    assert cli_export["unmasked"] and cli_export["rows"] == 1 and qs.DALIAN in cli_export["target"]
    assert events[3]["target"] == f"#{target}" and events[3]["detail"] == {"reason": "该团已取消"}
    assert [e["action"] for e in _events("--user", "dalian-cli", "--action", "export")] == ["export"]

    table = _cli("audit", "--region", "2102")
    assert "导出更正模板" in table and "dalian-cli" in table and "shenyang" not in table

    act_as(tourlink_home, "dalian-cli", "2102")
    mine = _events()  # a steward reads their own region's events only
    assert {e["region"] for e in mine} == {"2102"}
    _cli("audit", "verify", code=2)  # an administrator's task

    act_as(tourlink_home, "ops", "CN", role="admin")
    assert "完整" in _cli("audit", "verify")
    with view.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        conn.exec_driver_sql("UPDATE audit_event SET unmasked = 0 WHERE id = 6")
    broken = _cli("audit", "verify", code=1)
    assert "第 6 条记录的内容被改动" in broken and "已被篡改" in broken
