# ruff: noqa: F811 - the SFTP fixtures are imported from test_drop and requested by name
"""Operator mistakes with an `sftp-drop` source (its drop run, `tourlink.flow.drop`) are one-line messages naming the path and the fix,
never tracebacks; permission problems are `denied`, never `interrupted` (issue 16 item 3).

Against the real SSH server of the SFTP tests (asyncssh's, on loopback), which honours the tree's
permission bits as an unprivileged account's server would; the folder and permission cases run
again against OpenSSH's sshd in `test_drop_openssh`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import pytest

from connectors import sftp
from devkit.sandbox.sftp_server import seed_inbox
from tests.flow.test_drop import (  # noqa: F401 - fixtures
    AGENCY,
    OTHER,
    _archive,
    _batches,
    client_key,
    host_key,
    server,
    source,
    wh,
)
from tourlink.flow import drop


def _with(source, credentials: dict | None = None, **options):
    return dataclasses.replace(source, credentials={**source.credentials, **(credentials or {})},
                               options={**source.options, **options})


def test_a_missing_key_file_is_named_with_the_fix(source, monkeypatch, tmp_path, wh):
    monkeypatch.setenv("TEST_SFTP_PRIVATE_KEY", str(tmp_path / "no_such_key"))
    with pytest.raises(sftp.SftpConfigError, match=r"private key file .*no_such_key does not exist; fix: point credential"):
        drop.run(source, warehouse=wh)


def test_a_pub_given_as_the_private_key_is_named(source, monkeypatch, tmp_path, client_key, wh):
    pub = tmp_path / "id_ed25519.pub"
    pub.write_bytes(client_key.export_public_key("openssh"))
    monkeypatch.setenv("TEST_SFTP_PRIVATE_KEY", str(pub))
    with pytest.raises(sftp.SftpConfigError, match=r"id_ed25519.pub is a public key \(.pub\); fix: give the private key \(.*id_ed25519\)"):
        drop.run(source, warehouse=wh)


def test_a_passphrase_protected_key_needs_and_takes_a_passphrase_from_a_secret_reference(server, source, monkeypatch, tmp_path,
                                                                                        client_key, wh):
    locked = tmp_path / "id_locked"
    client_key.write_private_key(str(locked), format_name="openssh", passphrase="口令-secret")
    monkeypatch.setenv("TEST_SFTP_PRIVATE_KEY", str(locked))
    with pytest.raises(sftp.SftpConfigError, match="is protected by a passphrase; fix: set credential key_passphrase") as failure:
        drop.run(source, warehouse=wh)
    assert "口令" not in str(failure.value)
    monkeypatch.setenv("TEST_SFTP_KEY_PASSPHRASE", "not-it-口令")
    with_passphrase = _with(source, {"key_passphrase": "env:TEST_SFTP_KEY_PASSPHRASE"})
    with pytest.raises(sftp.SftpConfigError, match="could not be decrypted with key_passphrase") as failure:
        drop.run(with_passphrase, warehouse=wh)
    assert "not-it" not in str(failure.value)
    monkeypatch.setenv("TEST_SFTP_KEY_PASSPHRASE", "口令-secret")
    seed_inbox(server.root, AGENCY)
    run = drop.run(with_passphrase, warehouse=wh)
    assert run.of("团队名单_国庆.csv").status == "imported"


def test_a_pub_given_as_known_hosts_is_named(source, tmp_path, server, wh):
    Path(source.option("known_hosts")).write_text(" ".join(server.known_hosts_entry.split()[1:]) + " root@server\n")
    with pytest.raises(sftp.SftpConfigError, match=r"known_hosts line 1 is a public key without a host name .*ssh-keyscan"):
        drop.run(source, warehouse=wh)


def test_cert_authority_lines_are_refused_by_name(source, server, wh):
    key = " ".join(server.known_hosts_entry.split()[1:])
    Path(source.option("known_hosts")).write_text(f"# pinned\n@cert-authority *.example.cn {key}\n")
    with pytest.raises(sftp.SftpConfigError, match=r"line 2: @cert-authority entries are not supported"):
        drop.run(source, warehouse=wh)


def test_a_missing_archive_the_account_cannot_create_stops_the_run_before_any_import(server, source, wh):
    files = seed_inbox(server.root, AGENCY)
    (server.root / "archive").rmdir()
    server.root.chmod(0o555)
    try:
        with pytest.raises(sftp.SftpConfigError, match=r"SFTP folder /archive does not exist and this account may not create it"):
            drop.run(source, warehouse=wh)
    finally:
        server.root.chmod(0o755)
    assert _batches(wh) == 0 and files["csv"].exists()
    # allowed to create it: created, and the run goes through
    assert drop.run(source, warehouse=wh).of("团队名单_国庆.csv").status == "imported"
    assert (_archive(server) / "团队名单_国庆.csv").exists()


def test_missing_folders_are_not_created_when_create_folders_is_off(server, source, wh):
    (server.root / "rejected").rmdir()
    with pytest.raises(sftp.SftpConfigError, match=r"/rejected does not exist and create_folders is off"):
        drop.run(_with(source, create_folders=False), warehouse=wh)


def test_a_file_the_account_cannot_read_is_denied_not_interrupted_and_fails_the_run(server, source, wh):
    files = seed_inbox(server.root, AGENCY)
    files["xlsx"].chmod(0o000)
    with pytest.raises(sftp.SftpPermissionDenied, match=r"1 files denied .*团队名单_十月.xlsx: permission denied; fix") as failure:
        drop.run(source, warehouse=wh)
    run = failure.value.run
    assert run.of("团队名单_十月.xlsx").status == "denied" and run.count("interrupted") == 0
    assert run.of("团队名单_国庆.csv").status == "imported"  # the others go on
    assert files["xlsx"].exists()


def test_a_folder_the_account_cannot_move_out_of_is_denied_with_both_folders_named(server, source, wh):
    files = seed_inbox(server.root, AGENCY)
    files["csv"].parent.chmod(0o555)
    try:
        with pytest.raises(sftp.SftpPermissionDenied, match=rf"cannot move /inbox/{AGENCY}/团队名单_国庆.csv to /archive/") as failure:
            drop.run(source, warehouse=wh)
    finally:
        files["csv"].parent.chmod(0o755)
    assert failure.value.run.count("interrupted") == 0
    again = drop.run(source, warehouse=wh)  # fixed: archived without a second import
    assert again.of("团队名单_国庆.csv").status == "already_loaded"


def test_an_agency_folder_the_account_cannot_list_is_denied(server, source, wh):
    files = seed_inbox(server.root, AGENCY, other_agency=OTHER)
    (server.root / "inbox" / OTHER).mkdir(exist_ok=True)
    (server.root / "inbox" / OTHER).chmod(0o000)
    try:
        with pytest.raises(sftp.SftpPermissionDenied, match=rf"/inbox/{OTHER}: the account may not list this agency folder"):
            drop.run(source, warehouse=wh)
    finally:
        (server.root / "inbox" / OTHER).chmod(0o755)
    assert not files["csv"].exists()  # AGENCY's own files were processed


def test_rejected_files_land_in_the_agencys_own_inbox_when_configured(server, source, wh):
    seed_inbox(server.root, AGENCY)
    run = drop.run(_with(source, rejected_dir="/inbox/{agency}/rejected", archive_dir="/archive/{agency}/{yyyy}"), warehouse=wh)
    assert run.of("报表.xlsx").status == "rejected"
    own = server.root / "inbox" / AGENCY / "rejected"
    assert (own / "报表.xlsx").exists() and (own / "报表.xlsx.errors.txt").exists()
    assert not any((server.root / "rejected").iterdir())  # nothing in a folder every agency shares
    assert list((server.root / "archive" / AGENCY).rglob("团队名单_国庆.csv"))
    # the next run does not take the agency's rejected folder for an upload
    assert [o.status for o in drop.run(source, warehouse=wh).outcomes] == ["in_progress"]  # only the .part upload


def test_a_folder_option_with_an_unknown_placeholder_is_named(source, wh):
    with pytest.raises(sftp.SftpConfigError, match=r"option rejected_dir '/rejected/\{region\}'"):
        sftp.folder_for(_with(source, rejected_dir="/rejected/{region}"), "rejected", AGENCY, datetime.now())


def test_the_command_line_names_a_mistake_in_one_line_and_exits_non_zero(tourlink_home, tmp_path):
    """`tourlink sync` with a .pub as the key, then a file the account cannot read: exit 3, one line
    with the path and the fix, no traceback."""
    import os
    import subprocess
    import sys

    from connectors import registry
    from devkit.sandbox import start_for
    from tests.flow.test_drop import _cli_registry

    tourlink = str(Path(sys.executable).parent / "tourlink")
    declared = registry.get_source("sftp_sandbox")
    box = start_for(declared, port=0, export_env=False)
    try:
        env = os.environ | {ref.removeprefix("env:"): box.credentials[role] for role, ref in declared.credentials.items()}
        args = ["--registry", str(_cli_registry(declared, f"sftp://tourlink@127.0.0.1:{box.port}", tmp_path, settle_seconds=0.2))]
        key_role = declared.credentials["private_key"].removeprefix("env:")
        pub = tmp_path / "client.pub"
        pub.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBxNl3M0yW5uJ6Jz7bU1Gk0Lq0aRvmp1l9xQ1mU2n3o4 me@laptop\n")
        wrong_key = subprocess.run([tourlink, "sync", "sftp_sandbox", *args], env=env | {key_role: str(pub)},
                                   capture_output=True, text=True, timeout=120)
        assert wrong_key.returncode == 3 and "Traceback" not in wrong_key.stderr
        assert f"private key file {pub} is a public key (.pub); fix: give the private key" in wrong_key.stderr

        locked = next(p for p in (box.root / "inbox").rglob("*.xlsx"))
        locked.chmod(0o000)
        denied = subprocess.run([tourlink, "sync", "sftp_sandbox", *args], env=env, capture_output=True, text=True, timeout=300)
        assert denied.returncode == 3 and "Traceback" not in denied.stderr and "interrupted" not in denied.stderr
        assert f"{locked.name}: permission denied; fix:" in denied.stderr
    finally:
        box.stop()
