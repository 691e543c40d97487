"""Retention 0 days: identity numbers leave the landing files and quarantine raw rows, while every
indicator, lineage reference and quarantine entry still works."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from devkit.demo.people import make_ric
from tests.cli.operators import act_as
from tests.cli.rosters import Member, load_agencies, runner, tourlink, write_roster, wrong_check_digit
from tourlink.cli import app
from tourlink.identity import os_account
from tourlink.retention.redaction import MAGIC, decrypt


@pytest.fixture
def loaded(tourlink_home, tmp_path):
    """Agencies (xlsx) and a March roster (CSV) with one good and one bad (wrong check digit) member."""
    sample = load_agencies(tmp_path)
    rng = random.Random(11)
    good, bad = make_ric(rng, "210102", date(1980, 5, 6), "M"), make_ric(rng, "210102", date(1991, 2, 3), "F")
    wrong = wrong_check_digit(bad)
    members = [Member("王伟", "M", "1980-05-06", good), Member("李娜", "F", "1991-02-03", wrong)]
    roster = write_roster(tmp_path / "团队名单_沈阳.csv", sample.agencies[0].uscc, "GN2603001", members,
                          start="2026-03-10", end="2026-03-12", submitted="2026-03-05 09:00:00")
    tourlink("import", str(roster))
    return {"home": tourlink_home, "good": good, "wrong": wrong, "sample": sample}


def _landing_bytes(home) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (home / "landing").rglob("*") if p.is_file()}


def _quarantine_text(engine) -> str:
    with engine.connect() as conn:
        return json.dumps([list(r) for r in conn.execute(sa.text("select raw, rules from quarantine"))], ensure_ascii=False)


def _lineage(engine) -> list[tuple]:
    """Each member row's batch and file, joined to the batch_file row that names its landing path."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "select m.seq_no, m._row, b.source, f.landing_path from group_member m"
            " join batch b on b.batch_no = m._batch_no"
            " join lineage_file l on l.batch_no = m._batch_no and l.file_no = m._file_no"
            " join batch_file f on f.batch_id = b.batch_id and f.file = l.file"
        ))]


def test_retention_0_days_removes_identity_numbers_and_keeps_indicators_and_lineage(loaded, monkeypatch):
    home, good, wrong = loaded["home"], loaded["good"], loaded["wrong"]
    engine = sa.create_engine(f"sqlite:///{home / 'warehouse.db'}")
    assert any(good.encode() in b for b in _landing_bytes(home).values())
    assert wrong in _quarantine_text(engine)
    entry = json.loads(tourlink("quarantine", "list", "--json").splitlines()[0])
    tourlink("quarantine", "waive", str(entry["id"]), "--reason", "游客已退团")  # the entry closes
    indicators_before = tourlink("indicators", "--month", "2026-03", "--region", "21", "--json")
    lineage_before = _lineage(engine)
    assert lineage_before

    monkeypatch.setenv("TOURLINK_RETENTION_DAYS", "0")
    dry = json.loads(tourlink("retention", "run", "--json"))
    assert dry["applied"] is False and dry["quarantine_rows"] == 1 and dry["landing"] == {"redact": 1, "delete": 1}
    assert any(good.encode() in b for b in _landing_bytes(home).values())  # a dry run changes nothing

    act_as(home, "shenyang", "2101")
    assert runner.invoke(app, ["retention", "run", "--apply"]).exit_code == 2  # an administrator's task
    act_as(home, "ops", "CN", role="admin")
    done = json.loads(tourlink("retention", "run", "--apply", "--json"))
    assert done["applied"] is True

    landed = _landing_bytes(home)
    assert len(landed) == 1  # the CSV, redacted in place; the agencies' xlsx (no key configured) deleted
    text = next(iter(landed.values())).decode("utf-8")
    assert good not in text and wrong not in text and "13812345678" not in text
    assert good[:4] + "*" * 10 + good[-4:] in text and "王伟" in text  # same rows, same columns
    assert good not in _quarantine_text(engine) and wrong not in _quarantine_text(engine)

    assert tourlink("indicators", "--month", "2026-03", "--region", "21", "--json") == indicators_before
    assert _lineage(engine) == lineage_before
    for *_rest, landing_path in lineage_before:
        assert (home / "landing" / landing_path).is_file()
    shown = json.loads(tourlink("quarantine", "show", str(entry["id"]), "--json"))
    assert shown["status"] == "waived" and shown["history"][0]["reason"] == "游客已退团"
    assert json.loads(tourlink("retention", "run", "--apply", "--json"))["landing"] == {}  # nothing left to do
    audit = [json.loads(line) for line in tourlink("audit", "--json", "--action", "retention").splitlines()]
    account = os_account()  # before the stewards file existed, the account running tourlink was the admin
    assert [(e["actor"], e["outcome"], e["detail"].get("applied")) for e in audit] == [
        (account, "ok", False), ("shenyang", "denied", None), ("ops", "ok", True), ("ops", "ok", True)]
    engine.dispose()


def test_with_a_key_expired_landing_files_are_encrypted_and_the_key_opens_them(loaded, monkeypatch, tmp_path):
    home, good = loaded["home"], loaded["good"]
    before = _landing_bytes(home)
    key = Fernet.generate_key()
    (tmp_path / "retention.key").write_bytes(key)
    monkeypatch.setenv("TOURLINK_RETENTION_KEY_FILE", str(tmp_path / "retention.key"))
    monkeypatch.setenv("TOURLINK_RETENTION_DAYS", "0")
    assert json.loads(tourlink("retention", "run", "--apply", "--json"))["landing"] == {"encrypt": 2}
    for path in (home / "landing").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert data.startswith(MAGIC) and good.encode() not in data
            assert decrypt(path, key) == before[path.name]


def test_files_of_groups_that_ended_recently_are_kept(loaded, monkeypatch):
    monkeypatch.setenv("TOURLINK_RETENTION_DAYS", "100000")
    result = json.loads(tourlink("retention", "run", "--apply", "--json"))
    assert result["landing_files"] == [] and result["quarantine_rows"] == 0
    assert any(loaded["good"].encode() in b for b in _landing_bytes(loaded["home"]).values())


def _aged(path, days: float) -> None:
    import os
    import time

    stamp = time.time() - days * 86400
    os.utime(path, (stamp, stamp))


def test_landing_files_no_batch_records_are_due_after_a_day_and_a_fresh_one_is_kept(loaded, monkeypatch):
    """A failed sync's landed bodies and a copy cut short are unrecorded: retention takes them too,
    but never one written within the day (a running batch's files are unrecorded until it commits)."""
    home, good = loaded["home"], loaded["good"]
    landing = home / "landing"
    failed = landing / "ab" / ("ab" + "0" * 62 + ".json")
    failed.parent.mkdir(parents=True, exist_ok=True)
    failed.write_text(json.dumps({"zjhm": good}), encoding="utf-8")
    cut_short = failed.parent / ".landing-x1y2z3"
    cut_short.write_bytes(b"PK\x03\x04 partial")
    running = landing / "cd" / ("cd" + "1" * 62 + ".json")
    running.parent.mkdir(parents=True, exist_ok=True)
    running.write_text(json.dumps({"zjhm": good}), encoding="utf-8")
    _aged(failed, 2)
    _aged(cut_short, 2)
    _aged(running, 0.5)

    monkeypatch.setenv("TOURLINK_RETENTION_DAYS", "0")
    act_as(home, "ops", "CN", role="admin")
    done = json.loads(tourlink("retention", "run", "--apply", "--json"))
    assert done["unrecorded_files"] == 2
    assert set(done["landing_files"]) >= {"ab/" + failed.name, "ab/.landing-x1y2z3"}
    assert "cd/" + running.name not in done["landing_files"]
    assert good not in failed.read_text(encoding="utf-8") and good[-4:] in failed.read_text(encoding="utf-8")
    assert not cut_short.exists()
    assert good in running.read_text(encoding="utf-8")  # within the grace: perhaps a running batch's


def test_a_file_landed_again_is_fresh_and_a_batch_that_recorded_it_since_the_plan_keeps_it(loaded, monkeypatch, tmp_path):
    from datetime import datetime, timedelta

    from tourlink.retention.policy import plan, run
    from warehouse.landing import land

    home, good = loaded["home"], loaded["good"]
    body = tmp_path / "page.json"
    body.write_text(json.dumps({"zjhm": good}), encoding="utf-8")
    landed = land(body, home / "landing")
    target = home / "landing" / landed.landing_path
    _aged(target, 3)
    land(body, home / "landing")  # the same content again: touched, not copied
    engine = sa.create_engine(f"sqlite:///{home / 'warehouse.db'}")
    assert landed.landing_path not in plan(engine, home / "landing", days=0, key=None).unrecorded

    _aged(target, 3)
    due = plan(engine, home / "landing", days=0, key=None)
    assert landed.landing_path in due.unrecorded
    with engine.begin() as conn:  # a batch records it between the plan and the apply
        batch_id = conn.execute(sa.text("select batch_id from batch limit 1")).scalar_one()
        conn.execute(sa.text("insert into batch_file (batch_id, sha256, file, landing_path, size, received_at)"
                             " values (:b, :s, 'page.json', :p, 1, :r)"),
                     {"b": batch_id, "s": landed.sha256, "p": landed.landing_path, "r": datetime.now() - timedelta(days=3)})
    monkeypatch.setattr("tourlink.retention.policy.plan", lambda *a, **k: due)
    run(engine, home / "landing", days=0, apply=True)
    assert good in target.read_text(encoding="utf-8")
    engine.dispose()
