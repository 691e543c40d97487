# ruff: noqa: F811 - the drop tests' fixtures, imported, are used as parameters
"""The `sftp-drop` connector alone (`connectors.sftp.Drop`) against a real SFTP server on loopback: it
lists settled files, downloads, archives and rejects — and decides nothing (that is `tests/flow/test_drop.py`)."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from connectors import sftp
from devkit.sandbox.sftp_server import seed_inbox
from tests.flow.test_drop import AGENCY, SHANGHAI, client_key, host_key, server, source  # noqa: F401 - fixtures


def test_a_session_lists_the_settled_files_and_leaves_the_rest_alone(server, source):
    files = seed_inbox(server.root, AGENCY)
    (server.root / "inbox" / "not-a-uscc").mkdir()
    (server.root / "inbox" / "not-a-uscc" / "x.csv").write_text("a,b\n1,2\n")
    run = sftp.DropRun()
    with sftp.open_drop(source) as drop:
        settled = drop.settled(run)
    names = sorted(remote.rsplit("/", 1)[-1] for remote, *_ in settled)
    assert names == sorted(p.name for key, p in files.items() if key != "part")
    assert {o.status for o in run.outcomes} == {"in_progress", "failed"}
    assert all(p.exists() for p in files.values()), "listing moves nothing"
    assert not list((server.root / "archive").rglob("*.*")) and not list((server.root / "rejected").rglob("*.*"))


def test_a_session_downloads_archives_and_rejects_what_it_is_told(server, source):
    files = seed_inbox(server.root, AGENCY)
    run = sftp.DropRun()
    with sftp.open_drop(source) as drop:
        by_name = {remote.rsplit("/", 1)[-1]: (remote, *rest) for remote, *rest in drop.settled(run)}
        remote, agency, size, mtime = by_name[files["csv"].name]
        local = drop.fetch(remote, agency, size, mtime)
        assert local.read_bytes() == files["csv"].read_bytes()
        archived = drop.archive(remote, agency, "0" * 64)
        bad_remote, *_ = by_name[files["unreadable"].name]
        why = SimpleNamespace(reason_zh="文件无法读取", rows=[(2, "91110000MA01ABCD2Q")])
        rejected = drop.reject(bad_remote, agency, "1" * 64, why)
        drop.discard(local)
    month = datetime.now(SHANGHAI)
    assert archived == f"/archive/{month:%Y}/{month:%m}/{files['csv'].name}" and not local.exists()
    assert (server.root / archived.lstrip("/")).read_bytes() and not files["csv"].exists()
    errors = (server.root / (rejected.lstrip("/") + ".errors.txt")).read_text(encoding="utf-8-sig")
    assert "问题：文件无法读取" in errors and "第2行：统一社会信用代码 91110000MA01ABCD2Q" in errors
