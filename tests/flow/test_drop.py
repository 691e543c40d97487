"""An SFTP drop run by the flow (`tourlink.flow.drop`) against a real SFTP server (asyncssh) on loopback:
what it imports, archives and rejects, and what lands in the warehouse."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from connectors import sftp
from connectors.registry import SourceConfig, load_sources
from devkit.demo.spreadsheets import write_template_csv
from devkit.sandbox.gov_portal_server import sandbox_uscc
from devkit.sandbox.sftp_server import (
    ROSTER_HEADERS,
    SftpSandbox,
    generate_key,
    roster_rows,
    seed_inbox,
    write_client_key,
)
from tourlink import flow
from tourlink.flow import drop
from warehouse import tables

AGENCY, OTHER = sandbox_uscc(101), sandbox_uscc(102)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="session")
def host_key():
    """The server's host key, generated once per test session."""
    return generate_key()


@pytest.fixture(scope="session")
def client_key():
    return generate_key()


@pytest.fixture
def server(tmp_path, host_key, client_key):
    with SftpSandbox(tmp_path / "sftp-root", client_keys=[client_key], host_key=host_key) as s:
        yield s


@pytest.fixture
def source(server, tmp_path, client_key, monkeypatch) -> SourceConfig:
    key_file = write_client_key(client_key, tmp_path / "id_ed25519")
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(server.known_hosts_entry + "\n")
    monkeypatch.setenv("TEST_SFTP_PRIVATE_KEY", str(key_file))
    return SourceConfig(
        name="sftp_test",
        dialect="sftp-drop",
        base_url=server.url,
        credentials={"private_key": "env:TEST_SFTP_PRIVATE_KEY"},
        options={"known_hosts": str(known_hosts), "settle_seconds": 0.3, "staging_dir": str(tmp_path / "staging")},
    )


@pytest.fixture
def wh(pg_url, tmp_path):
    from warehouse.load import Warehouse

    return Warehouse(pg_url, landing_dir=tmp_path / "landing")


def _count(wh, table: str) -> int:
    with wh.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(tables.entity_tables[table])).scalar_one()


def _batches(wh) -> int:
    with wh.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(tables.batch).where(tables.batch.c.status == "committed")).scalar_one()


def _archive(server) -> Path:
    now = datetime.now(SHANGHAI)
    return server.root / "archive" / f"{now:%Y}" / f"{now:%m}"


def test_a_changed_host_key_is_refused_before_anything_is_touched(server, source, tmp_path, wh):
    files = seed_inbox(server.root, AGENCY)
    impostor = generate_key().export_public_key("openssh").decode().split()[:2]
    Path(source.option("known_hosts")).write_text(f"[127.0.0.1]:{server.port} {' '.join(impostor)}\n")
    with pytest.raises(sftp.HostKeyRejected, match="NOT the pinned key"):
        drop.run(source, warehouse=wh)
    assert files["csv"].exists() and _batches(wh) == 0


def test_an_unknown_host_is_refused_never_accepted(server, source, wh):
    Path(source.option("known_hosts")).write_text("[127.0.0.1]:1 ssh-ed25519 " + server.known_hosts_entry.split()[2] + "\n")
    with pytest.raises(sftp.HostKeyRejected, match="not in the pinned known_hosts"):
        drop.run(source, warehouse=wh)
    assert Path(source.option("known_hosts")).read_text().count("\n") == 1  # nothing was added


def test_one_run_imports_a_gbk_csv_and_an_xlsx_and_rejects_an_unreadable_file(server, source, wh):
    files = seed_inbox(server.root, AGENCY)
    run = drop.run(source, warehouse=wh)
    assert run.of("团队名单_国庆.csv").status == "imported"
    assert run.of("团队名单_十月.xlsx").status == "imported"
    assert run.of("报表.xlsx").status == "rejected"
    assert (_archive(server) / "团队名单_国庆.csv").exists() and (_archive(server) / "团队名单_十月.xlsx").exists()
    assert (_count(wh, "tour_group"), _count(wh, "group_member")) == (2, 6)
    assert _batches(wh) == 2  # one batch per file
    rejected = server.root / "rejected" / AGENCY / "报表.xlsx"  # the agency's own folder
    errors = (server.root / "rejected" / AGENCY / "报表.xlsx.errors.txt").read_text(encoding="utf-8-sig")
    assert rejected.exists() and not files["unreadable"].exists()
    assert "文件未导入" in errors and "xlsx" in errors and "请使用平台提供的导入模板" in errors
    assert f"/inbox/{AGENCY}/" in errors


def test_uploads_still_being_written_are_left_alone(server, source, wh):
    files = seed_inbox(server.root, AGENCY)
    growing = files["csv"]

    done = threading.Event()

    def keep_writing():  # the agency's client is still uploading it
        while not done.is_set():
            with growing.open("ab") as f:
                f.write(b"\r\n")
            time.sleep(0.05)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        run = drop.run(source, warehouse=wh)
    finally:
        done.set()
        writer.join()
    assert run.of("团队名单_十一月.xlsx.part").status == "in_progress"
    assert run.of("团队名单_国庆.csv").status == "growing"
    assert files["part"].exists() and growing.exists()  # untouched, picked up by a later run
    assert drop.run(source, warehouse=wh).of("团队名单_国庆.csv").status == "imported"


def test_a_connection_dropped_mid_download_resumes_on_the_next_run(server, source, wh):
    folder = server.root / "inbox" / AGENCY
    folder.mkdir(parents=True)
    big = folder / "团队名单_大团.csv"
    write_template_csv(big, ROSTER_HEADERS, roster_rows(AGENCY, "GN2610100", tourists=600, seed=5), encoding="gbk")
    assert big.stat().st_size > 100_000
    original = hashlib.sha256(big.read_bytes()).hexdigest()
    server.drop_during_read("团队名单_大团.csv", after_bytes=70_000)

    first = drop.run(source, warehouse=wh)
    assert first.of("团队名单_大团.csv").status == "interrupted"
    assert big.exists() and _batches(wh) == 0
    kept = Path(source.option("staging_dir")) / AGENCY / "团队名单_大团.csv.part"
    assert 0 < kept.stat().st_size < big.stat().st_size

    resumed_from = kept.stat().st_size
    server.reads.clear()
    second = drop.run(source, warehouse=wh)
    outcome = second.of("团队名单_大团.csv")
    assert outcome.status == "imported" and outcome.sha256 == original
    assert min(offset for path, offset in server.reads if path.endswith("大团.csv")) == resumed_from
    assert _count(wh, "group_member") == 600 and wh.file_loaded(original)


def test_a_rerun_imports_nothing_twice(server, source, wh):
    files = seed_inbox(server.root, AGENCY)
    csv_bytes = files["csv"].read_bytes()
    drop.run(source, warehouse=wh)
    batches, members = _batches(wh), _count(wh, "group_member")

    again = drop.run(source, warehouse=wh)
    assert [o for o in again.outcomes if o.status not in ("in_progress",)] == []
    files["csv"].write_bytes(csv_bytes)  # the agency uploads the same file a second time
    third = drop.run(source, warehouse=wh)
    assert third.of("团队名单_国庆.csv").status == "already_loaded"
    assert not files["csv"].exists()  # archived all the same, under a name that does not overwrite the first
    assert len(list(_archive(server).glob("团队名单_国庆*.csv"))) == 2
    assert (_batches(wh), _count(wh, "group_member")) == (batches, members)


def test_a_file_filing_for_another_agency_is_rejected(server, source, wh):
    files = seed_inbox(server.root, AGENCY, other_agency=OTHER)
    run = drop.run(source, warehouse=wh)
    assert run.of("代报团队.csv").status == "rejected"
    assert run.of("团队名单_国庆.csv").status == "imported"  # one bad file never stops the others
    errors = (server.root / "rejected" / AGENCY / "代报团队.csv.errors.txt").read_text(encoding="utf-8-sig")
    assert "不能代其他旅行社报送" in errors
    assert f"第2行：统一社会信用代码 {OTHER}" in errors and "组团社统一社会信用代码" in errors
    assert not files["foreign"].exists()
    with wh.engine.connect() as conn:
        groups = tables.entity_tables["tour_group"]
        organisers = conn.execute(sa.select(groups.c.organizer_uscc).distinct()).scalars().all()
    assert organisers == [AGENCY]


def test_the_registered_sandbox_source_syncs_through_the_registry_dispatch(tourlink_home, monkeypatch):
    import dataclasses

    from connectors import registry
    from devkit.sandbox import start_for

    declared = registry.get_source("sftp_sandbox")
    sandbox = start_for(declared, port=0, export_env=False)
    try:
        for role, ref in declared.credentials.items():
            monkeypatch.setenv(ref.removeprefix("env:"), sandbox.credentials[role])
        source = dataclasses.replace(declared, base_url=f"sftp://tourlink@127.0.0.1:{sandbox.port}", options={"settle_seconds": 0.2})
        result = flow.sync(source)
    finally:
        sandbox.stop()
    assert result.streams["imported"] == 2 and result.streams["rejected"] == 2 and result.streams["in_progress"] == 1


def _cli_registry(declared, base_url: str, tmp_path: Path, **options) -> Path:
    import yaml

    folder = tmp_path / "registry"
    folder.mkdir(exist_ok=True)
    spec = yaml.safe_load(Path(declared.path).read_text(encoding="utf-8")) | {"base_url": base_url}
    spec["options"] = {**spec.get("options", {}), **options}
    (folder / f"{declared.name}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return folder


def test_tourlink_sources_check_and_sync_drive_the_sandbox_drop_from_the_command_line(tourlink_home, tmp_path):
    """`tourlink sources check` touches nothing; `tourlink sync` imports, archives and rejects; a
    changed host key fails the command (exit 3) with the reason, before anything is read."""
    import json
    import os
    import subprocess
    import sys

    from connectors import registry
    from devkit.sandbox import start_for

    tourlink = str(Path(sys.executable).parent / "tourlink")
    declared = registry.get_source("sftp_sandbox")
    box = start_for(declared, port=0, export_env=False)
    try:
        env = os.environ | {ref.removeprefix("env:"): box.credentials[role] for role, ref in declared.credentials.items()}
        folder = _cli_registry(declared, f"sftp://tourlink@127.0.0.1:{box.port}", tmp_path, settle_seconds=0.2)
        args = ["--registry", str(folder)]
        check = subprocess.run([tourlink, "sources", "check", "sftp_sandbox", *args], env=env, capture_output=True, text=True, timeout=120)
        assert check.returncode == 0 and "sftp_sandbox: OK (inbox: reachable)" in check.stdout, check.stderr
        assert not (tourlink_home / "warehouse.db").exists() and len(list((box.root / "inbox").rglob("*.*"))) == 5

        synced = subprocess.run([tourlink, "sync", "sftp_sandbox", "--json", *args], env=env, capture_output=True, text=True, timeout=300)
        summary = json.loads(synced.stdout.strip().splitlines()[-1])
        assert (summary["streams"]["imported"], summary["streams"]["rejected"]) == (2, 2), synced.stderr
        assert len(list((box.root / "archive").rglob("*.*"))) == 2

        impostor = generate_key().export_public_key("openssh").decode().split()[:2]
        env["SANDBOX_SFTP_KNOWN_HOSTS"] = f"[127.0.0.1]:{box.port} {' '.join(impostor)}"
        refused = subprocess.run([tourlink, "sync", "sftp_sandbox", *args], env=env, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 3 and "NOT the pinned key" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        box.stop()


def test_the_sandbox_portal_then_the_sandbox_drop_sync_into_one_warehouse_without_airflow(tourlink_home, monkeypatch):
    """Issue 6's sources end to end from plain Python: the licensing feed first (so the uploading agency
    exists and is folded), then the drop; the imported groups belong to that agency, its foreign and broken files are
    rejected; the sandboxes' keys never stay behind in the environment."""
    import os

    from devkit.sandbox import sync_sandboxes
    from warehouse.load import Warehouse

    for name in ("SANDBOX_SFTP_PRIVATE_KEY", "SANDBOX_SFTP_KNOWN_HOSTS", "SANDBOX_GOV_PORTAL_KEY", "SANDBOX_GOV_PORTAL_SECRET"):
        monkeypatch.delenv(name, raising=False)
    wh = Warehouse()
    (portal,) = sync_sandboxes(["gov-portal"], warehouse=wh)
    (drop,) = sync_sandboxes(["sftp-drop"], warehouse=wh)
    assert portal.entities["travel_agency"] == {"folded": 4}
    assert (drop.streams["imported"], drop.streams["rejected"], drop.streams["in_progress"]) == (2, 2, 1)
    assert "SANDBOX_SFTP_KNOWN_HOSTS" not in os.environ and "SANDBOX_GOV_PORTAL_SECRET" not in os.environ
    with wh.engine.connect() as conn:
        groups = tables.entity_tables["tour_group"]
        agencies = tables.entity_tables["travel_agency"]
        organisers = conn.execute(sa.select(groups.c.organizer_uscc).distinct()).scalars().all()
        name = conn.execute(sa.select(agencies.c.name).where(agencies.c.uscc == AGENCY)).scalar_one()
    assert organisers == [AGENCY] and name == "辽宁远航国际旅行社有限公司"


def test_a_started_sandbox_replaces_stale_credentials_left_in_the_environment(monkeypatch):
    """A sandbox has new keys each time it starts: a value a previous session left behind must not win."""
    import os

    from devkit.sandbox import start_for

    declared = load_sources()["sftp_sandbox"]
    monkeypatch.setenv("SANDBOX_SFTP_KNOWN_HOSTS", "[127.0.0.1]:18022 ssh-ed25519 AAAA-a-host-key-of-yesterday")
    monkeypatch.setenv("SANDBOX_SFTP_PRIVATE_KEY", "/nowhere/yesterdays-key")
    box = start_for(declared, port=0)
    try:
        assert os.environ["SANDBOX_SFTP_KNOWN_HOSTS"] == box.credentials["known_hosts"]
        assert os.environ["SANDBOX_SFTP_PRIVATE_KEY"] == box.credentials["private_key"]
    finally:
        box.stop()


def _children_of_the_roster(folder: Path) -> list[Path]:
    """Canonical files of the 国庆 roster's group (GN2610001): its days and two more tourists. Both
    names sort before the roster's (ASCII before Chinese), as `ls` or an SFTP listing gives them."""
    from devkit.sandbox.sftp_server import roster_rows

    itinerary = folder / "group_itinerary.csv"
    itinerary.write_text(
        "organizer_uscc,group_code,day_no,date,province_code\n"
        + "".join(f"{AGENCY},GN2610001,{d},2026-10-{12 + d - 1},21\n" for d in (1, 2, 3)),
        encoding="utf-8",
    )
    members = folder / "group_member.csv"
    extra = roster_rows(AGENCY, "GN2610001", tourists=5, seed=11)[3:]
    members.write_text(
        "organizer_uscc,group_code,seq_no,name,gender,birth_date,doc_type,doc_no,nationality\n"
        + "".join(f"{AGENCY},GN2610001,{r[14]},{r[15]},{'M' if r[17] == '男' else 'F'},{r[18]},CN_RIC,{r[20]},CHN\n"
                  for r in extra),
        encoding="utf-8",
    )
    return [itinerary, members]


def _drop_snapshot(wh) -> dict[str, list]:
    queries = {
        "tour_group": "select group_code, tourist_count from tour_group",
        "group_member": "select group_code, seq_no, doc_no from group_member",
        "group_itinerary": "select group_code, day_no, date from group_itinerary",
        "quarantine": "select entity, file, row from quarantine",
    }
    with wh.engine.connect() as conn:  # as text: the two warehouses are PostgreSQL and SQLite
        return {name: sorted(tuple(map(str, r)) for r in conn.execute(sa.text(sql))) for name, sql in queries.items()}


def test_a_drop_whose_child_files_sort_first_loads_what_parents_first_loads(server, source, wh, tmp_path):
    """The roster (groups and tourists) and two canonical files needing its group, in one agency
    folder: the listing gives the children first; the run imports the roster first all the same."""
    from devkit.demo.spreadsheets import write_template_csv
    from devkit.sandbox.sftp_server import roster_rows
    from warehouse.load import Warehouse

    folder = server.root / "inbox" / AGENCY
    folder.mkdir(parents=True)
    roster = folder / "团队名单_国庆.csv"
    write_template_csv(roster, ROSTER_HEADERS, roster_rows(AGENCY, "GN2610001", seed=1), encoding="gbk")
    children = _children_of_the_roster(folder)
    assert sorted(p.name for p in [roster, *children])[-1] == roster.name

    run = drop.run(source, warehouse=wh)
    assert [run.of(p.name).status for p in [roster, *children]] == ["imported"] * 3

    # parents first by hand: the roster alone in one run, its children in the next
    careful = Warehouse(f"sqlite:///{tmp_path / 'careful.db'}", landing_dir=tmp_path / "landing-careful")
    write_template_csv(roster, ROSTER_HEADERS, roster_rows(AGENCY, "GN2610001", seed=1), encoding="gbk")
    assert drop.run(source, warehouse=careful).of(roster.name).status == "imported"
    _children_of_the_roster(folder)
    assert {o.status for o in drop.run(source, warehouse=careful).outcomes} == {"imported"}

    assert _drop_snapshot(wh) == _drop_snapshot(careful)
    seen = _drop_snapshot(wh)
    assert len(seen["group_member"]) == 5 and len(seen["group_itinerary"]) == 3 and seen["quarantine"] == []
