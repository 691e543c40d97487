# ruff: noqa: F811 - the drop tests' fixtures and cases, imported, run here against OpenSSH
"""The key SFTP drop cases against a real OpenSSH `sshd` (`tests/flow/openssh_server.py`), not only
the asyncssh sandbox: the host key verified and a changed one refused, a missing `/archive` or
`/rejected`, a file the account cannot read, folders it may not write or list.

The cases are those of `test_drop` and `test_drop_operator_errors`, word for word: only the `server`
fixture differs, so both servers are held to one specification.
"""

from __future__ import annotations

import socket

import pytest

from connectors import sftp
from tests.flow.openssh_server import OpenSshServer
from tests.flow.test_drop import (  # noqa: F401 - fixtures and the cases run again here
    client_key,
    host_key,
    source,
    test_a_changed_host_key_is_refused_before_anything_is_touched,
    test_an_unknown_host_is_refused_never_accepted,
    test_one_run_imports_a_gbk_csv_and_an_xlsx_and_rejects_an_unreadable_file,
    wh,
)
from tests.flow.test_drop_operator_errors import (  # noqa: F401 - the cases run again here
    test_a_file_the_account_cannot_read_is_denied_not_interrupted_and_fails_the_run,
    test_a_folder_the_account_cannot_move_out_of_is_denied_with_both_folders_named,
    test_a_missing_archive_the_account_cannot_create_stops_the_run_before_any_import,
    test_an_agency_folder_the_account_cannot_list_is_denied,
    test_missing_folders_are_not_created_when_create_folders_is_off,
    test_rejected_files_land_in_the_agencys_own_inbox_when_configured,
)


@pytest.fixture
def server(host_key, client_key):
    """OpenSSH's sshd serving the drop's tree, in place of the asyncssh sandbox."""
    with OpenSshServer(client_keys=[client_key], host_key=host_key) as s:
        yield s


def test_the_server_is_openssh(server, source):
    """The cases above really talk to OpenSSH: its banner, then a check through the pinned key."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        assert s.recv(64).startswith(b"SSH-2.0-OpenSSH_")
    (server.root / "inbox" / "91110000MA01ABCD2Q").mkdir()
    (server.root / "inbox" / "91110000MA01ABCD2Q" / "a.csv").write_text("x")
    assert sftp.check(source) == {"inbox": 1}
