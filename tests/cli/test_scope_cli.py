"""A steward of region 21 cannot obtain region 11's data from any CLI command or report file.

The operator comes from the stewards file (this process's OS account mapped to one steward), never
from a flag; `--region` only narrows. Refusals exit 2 and are written to the audit log.
"""

from __future__ import annotations

import json
import stat

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from tests.cli.operators import act_as
from tests.report import quarantine_sample as qs
from tourlink.cli import app
from warehouse import tables as t
from warehouse.load import Warehouse

runner = CliRunner()
BEIJING = "91110100MA0BJE006P"
BEIJING_ID = "110101198202020026"


@pytest.fixture
def home(tourlink_home):
    """The quarantine sample (Liaoning and Hebei) plus a Beijing agency's bad roster row, migrated SQLite."""
    wh = Warehouse()
    qs.seed(wh.engine)
    with wh.engine.begin() as conn:
        conn.execute(t.entity_tables["travel_agency"].insert().values(
            uscc=BEIJING, name="北京长城旅行社", unit_type="HEAD", division_code="110101", business_scope="DOMESTIC",
            status="ACTIVE", updated_at=qs.EARLIER, _batch_no=1))
        raw = {"团号": "BJ1", "组团社统一社会信用代码": BEIJING, "序号": "1", "姓名": "李四", "证件类型": "身份证", "证件号码": BEIJING_ID}
        conn.execute(t.quarantine.insert().values(
            batch_id="b-day", source="files", file="/in/长城/名单.xlsx", row=4, entity="group_member",
            natural_key=json.dumps({"group_code": "BJ1", "organizer_uscc": BEIJING, "seq_no": 1}, sort_keys=True),
            agency_uscc=BEIJING, raw=json.dumps(raw, ensure_ascii=False),
            rules=[{"rule": "RIC_CHECKSUM", "severity": "ERROR", "field": "doc_no", "value": BEIJING_ID, "message": "证件号码校验位错误"}],
            status="open", created_at=qs.DAY, updated_at=qs.DAY))
    wh.engine.dispose()
    return tourlink_home


def _run(*args: str):
    return runner.invoke(app, list(args))


def _ok(*args: str) -> str:
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def _beijing_entry(home) -> int:
    engine = sa.create_engine(f"sqlite:///{home / 'warehouse.db'}")
    with engine.connect() as conn:
        found = conn.execute(sa.select(t.quarantine.c.id).where(t.quarantine.c.agency_uscc == BEIJING)).scalar_one()
    engine.dispose()
    return found


def test_a_steward_of_region_21_gets_nothing_of_region_11(home, tmp_path):
    entry = _beijing_entry(home)
    act_as(home, "ops", "CN", role="admin")
    assert BEIJING in _ok("quarantine", "list", "--region", "11")  # the data is there, for the administrator
    fix = tmp_path / "admin" / "fix-bj.xlsx"
    _ok("quarantine", "export", "--agency", BEIJING, "--out", str(fix))
    reports = tmp_path / "reports"
    _ok("report", "--out", str(reports), "--region", "11", "--date", "2026-03-05", "--no-indicators", "--no-data-docs")

    act_as(home, "liaoning", "21")
    listed = [json.loads(line) for line in _ok("quarantine", "list", "--json").splitlines()]
    assert listed and {e["agency_uscc"] for e in listed} <= {qs.SHENYANG_A, qs.SHENYANG_B, qs.DALIAN, qs.UNREGISTERED}
    refused = {
        "list": _run("quarantine", "list", "--region", "11"),
        "show": _run("quarantine", "show", str(entry)),
        "waive": _run("quarantine", "waive", str(entry), "--reason", "不需要"),
        "report": _run("report", "--out", str(reports), "--region", "110000", "--no-indicators", "--no-data-docs"),
        "indicators": _run("indicators", "--month", "2026-03", "--region", "11"),
        "findings": _run("findings", "--region", "11"),
        "incentive": _run("incentive", "--year", "2026", "--province", "11"),
        "audit": _run("audit", "--region", "11"),
        "replay": _run("replay", str(fix)),
        "publish": _run("indicators", "--month", "2026-03", "--publish"),
    }
    assert {name: r.exit_code for name, r in refused.items()} == dict.fromkeys(refused, 2)
    assert all(BEIJING not in r.stdout and BEIJING_ID not in r.stdout for r in refused.values())
    assert "本地区（21）" in refused["list"].output
    theirs = tmp_path / "mine" / "fix-bj.xlsx"
    assert _run("quarantine", "export", "--agency", BEIJING, "--out", str(theirs)).exit_code == 1
    assert not theirs.exists()
    figures = json.loads(_ok("indicators", "--month", "2026-03", "--json"))
    assert {f["region"] for f in figures} == {"21"}

    written = json.loads(_ok("report", "--out", str(reports), "--date", "2026-03-05", "--no-indicators",
                             "--no-data-docs", "--json"))
    assert written["region"] == "21" and "failures-21-2026-03-05" in written["html"]
    page = open(written["html"], encoding="utf-8").read()
    assert qs.DALIAN in page and BEIJING not in page and qs.HEBEI not in page
    for path in reports.iterdir():  # the administrator's region-11 files too: owner-only
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(reports.stat().st_mode) == 0o700

    act_as(home, "ops", "CN", role="admin")
    denied = [json.loads(line) for line in _ok("audit", "--json", "--user", "liaoning").splitlines()]
    assert sorted(e["action"] for e in denied if e["outcome"] == "denied") == sorted(
        ["quarantine_list", "quarantine_show", "waive", "report", "indicators", "findings", "incentive", "audit_view",
         "replay", "publish"])


def test_an_os_account_the_stewards_file_does_not_list_is_refused(home):
    (home / "stewards.yaml").write_text(yaml.safe_dump({"stewards": {"someone": {
        "region": "21", "accounts": ["not-this-account"], "password": "scrypt$x"}}}), encoding="utf-8")
    result = _run("quarantine", "list")
    assert result.exit_code == 2 and "未在管理员名单" in result.output
