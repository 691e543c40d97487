"""`sftp-drop`: import-template spreadsheets agencies upload to `/inbox/<USCC>/` (SOURCES.md §5).

One run: connect with a key, the server's host key pinned (unknown or changed: `HostKeyRejected`,
never a prompt); list every agency folder twice a moment apart and leave alone files still being
written (size or mtime changed, `.part`/`.tmp` names); download each file to a local staging folder
under a temporary name (resuming a download an earlier run lost), rename it, hash it; import it as
one batch owned by the folder's agency, then move it to `/archive/<yyyy>/<mm>/`. A file whose
checksum a committed batch already holds is archived without importing it again (a crash between
import and archive). A file that cannot be read at all, or that files for another agency, moves to
the agency's own rejected folder (`/rejected/<USCC>/` by default, so no agency sees another's
rosters) with `<name>.errors.txt` beside it, in Chinese, for the agency. One bad file never stops
the others.

Operator mistakes are messages, never tracebacks: a key file that is missing, is a `.pub`, or needs a
passphrase; a known_hosts that is a `.pub` or holds `@cert-authority` lines; a folder that cannot be
created — each raises `SftpConfigError` naming the path and the fix (the CLI exits non-zero). A file
or folder the account may not read, write or move is the outcome `denied` (never `interrupted`); the
others are processed, then the run raises `SftpPermissionDenied` listing them.

The connector connects (`connection`), lists, downloads, archives and rejects (`folders`, in one
`session.Drop`); what to import, in which order, and importing it is the flow's (`tourlink.flow.drop`).

Registry file: `base_url: sftp://<user>@<host>:<port>`; credentials `private_key` (a reference to
the key file's path or the key text), optionally `key_passphrase` (a reference, e.g.
`env:SFTP_KEY_PASSPHRASE`) and `known_hosts` (a reference to the known_hosts text or its path); or
option `known_hosts` (a path). Options: `settle_seconds` (1.0), `staging_dir`, `timeout_seconds`
(30), `archive_dir` (`/archive/{yyyy}/{mm}`), `rejected_dir` (`/rejected/{agency}`; or e.g.
`/inbox/{agency}/rejected`), `create_folders` (true: missing folders are created when the account
may).
"""

from connectors.sftp.connection import connect, pinned_keys
from connectors.sftp.folders import (
    denied_reason,
    download,
    errors_text,
    folder_for,
    in_progress,
    move,
    reject,
    stable_files,
)
from connectors.sftp.outcomes import (
    ARCHIVE,
    CONNECTION_ERRORS,
    INBOX,
    REJECTED,
    SHANGHAI,
    DropOutcome,
    DropRun,
    HostKeyRejected,
    SftpConfigError,
    SftpPermissionDenied,
    SftpUnavailable,
)
from connectors.sftp.session import Drop, check, open_drop

__all__ = [
    "ARCHIVE",
    "CONNECTION_ERRORS",
    "INBOX",
    "REJECTED",
    "SHANGHAI",
    "Drop",
    "DropOutcome",
    "DropRun",
    "HostKeyRejected",
    "SftpConfigError",
    "SftpPermissionDenied",
    "SftpUnavailable",
    "check",
    "connect",
    "denied_reason",
    "download",
    "errors_text",
    "folder_for",
    "in_progress",
    "move",
    "open_drop",
    "pinned_keys",
    "reject",
    "stable_files",
]
