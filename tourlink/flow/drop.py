"""An SFTP drop run: what to import from the agencies' folders, in which order, and importing it.

The connector (`connectors.sftp.Drop`) connects, lists settled files, downloads, archives and
rejects. The flow decides: every settled file is downloaded and opened (its header picks its
mapping) before any is imported, then the files are imported parents first (`inputs.reliance`), each
as its own batch owned by its folder's agency, and archived once committed. A file whose checksum a
committed batch already holds is archived without importing it again (a crash between import and
archive). A file that cannot be read at all, or that files for another agency, is rejected with the
agency's `<name>.errors.txt`. One bad file never stops the others; a broken connection ends the run
after a reconnect fails (the partial download resumes next run); a file or folder the account may not
read, write or move is `denied`, and once the others are processed the run raises
`SftpPermissionDenied` naming them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors import sftp
from connectors.registry import SourceConfig
from connectors.sftp import DropOutcome, DropRun, HostKeyRejected, SftpPermissionDenied
from tourlink.flow.batch import load_batch
from tourlink.flow.inputs import Input, UnreadableInput, file_inputs, reliance
from tourlink.flow.sources import SyncResult
from tourlink.flow.staging import ForeignAgencyRows, warehouse_of

log = logging.getLogger(__name__)
STATUSES = ("imported", "already_loaded", "rejected", "interrupted", "failed", "in_progress", "growing", "vanished",
            "denied")


@dataclass
class _Fetched:
    remote: str
    agency: str
    local: Path
    sha256: str
    opened: list[Input] | None = None  # its inputs (one per sheet read); None: already loaded, or unreadable
    problem: Exception | None = None

    @property
    def order(self) -> int:
        """Files that carry parents first; files that will not be imported (archived, rejected) first of all."""
        if self.opened is None:
            return -1
        return reliance(e for item in self.opened for e in item.mapping.entities)


def _open(drop: sftp.Drop, wh: Any, remote: str, agency: str, size: int, mtime: int) -> _Fetched:
    from warehouse.landing import sha256_of  # the key the landing folder and batch_file use

    local = drop.fetch(remote, agency, size, mtime)
    fetched = _Fetched(remote, agency, local, sha256_of(local))
    if not wh.file_loaded(fetched.sha256):
        try:
            fetched.opened = file_inputs([local], [remote])
        except UnreadableInput as exc:
            fetched.problem = exc
    return fetched


def _import(drop: sftp.Drop, source: SourceConfig, wh: Any, f: _Fetched, run: DropRun) -> DropOutcome:
    if f.opened is None and f.problem is None:
        outcome = DropOutcome(f.remote, f.agency, "already_loaded", f.sha256, moved_to=drop.archive(f.remote, f.agency, f.sha256))
    else:
        try:
            if f.problem is not None:
                raise f.problem
            assert f.opened is not None
            batch = load_batch(f.opened, source=source.name, warehouse=wh, owner_uscc=f.agency)
        except (UnreadableInput, ForeignAgencyRows) as exc:
            moved = drop.reject(f.remote, f.agency, f.sha256, exc)
            outcome = DropOutcome(f.remote, f.agency, "rejected", f.sha256, moved_to=moved, reason=exc.reason_zh)
        else:
            for entity, counts in batch.entities.items():
                summed = run.entities.setdefault(entity, {})
                for key, value in vars(counts).items():
                    summed[key] = summed.get(key, 0) + value
            moved = drop.archive(f.remote, f.agency, f.sha256)
            outcome = DropOutcome(f.remote, f.agency, "imported", f.sha256, batch_id=batch.batch_id, moved_to=moved)
    drop.discard(f.local)
    return outcome


def run(source: SourceConfig, *, warehouse: Any = None) -> DropRun:
    """Process every settled file of every agency folder once (see the module docstring)."""
    wh = warehouse_of(warehouse)
    result = DropRun()
    with sftp.open_drop(source) as drop:

        def attempt(remote: str, agency: str, step: Callable[[], Any]) -> tuple[bool, Any]:
            """(go on, value) of one step of one file: a broken connection is reopened, or ends the run."""
            try:
                return True, step()
            except HostKeyRejected:
                raise
            except FileNotFoundError:
                # Deleted by the agency between the listing and the download: nothing to do.
                result.outcomes.append(DropOutcome(remote, agency, "vanished"))
            except PermissionError as exc:
                # Not an interruption: the next run would fail the same way until someone fixes the rights.
                result.outcomes.append(DropOutcome(remote, agency, "denied", reason=sftp.denied_reason(remote, exc)))
            except sftp.CONNECTION_ERRORS as exc:
                # The transfer broke: the partial copy stays in staging and resumes next run.
                log.warning("sftp %s: %s interrupted (%s); will resume next run", source.name, remote, type(exc).__name__)
                result.outcomes.append(DropOutcome(remote, agency, "interrupted", reason=f"{type(exc).__name__}: {exc}"))
                return drop.reconnect(), None
            except Exception as exc:  # noqa: BLE001 - one bad file never stops the others
                log.exception("sftp %s: %s failed; left in the inbox", source.name, remote)
                result.outcomes.append(DropOutcome(remote, agency, "failed", reason=f"{type(exc).__name__}: {exc}"))
            return True, None

        fetched: list[_Fetched] = []
        for remote, agency, size, mtime in drop.settled(result):
            go_on, got = attempt(remote, agency, lambda r=remote, a=agency, n=size, m=mtime: _open(drop, wh, r, a, n, m))
            if got is not None:
                fetched.append(got)
            if not go_on:
                break
        for f in sorted(fetched, key=lambda f: f.order):
            go_on, outcome = attempt(f.remote, f.agency, lambda f=f: _import(drop, source, wh, f, result))
            if outcome is not None:
                result.outcomes.append(outcome)
            if not go_on:
                break
    denied = [o for o in result.outcomes if o.status == "denied"]
    if denied:
        shown = "; ".join(o.reason or o.remote for o in denied[:5]) + (f"; … {len(denied)} in all" if len(denied) > 5 else "")
        log.error("sftp %s: %d files denied to the account: %s", source.name, len(denied), shown)
        raise SftpPermissionDenied(f"sftp {source.name}: {len(denied)} files denied to the account: {shown}", result)
    return result


def sync_drop(source: SourceConfig, *, warehouse: Any = None) -> SyncResult:
    """One `run`, outcomes counted by status in `streams` (a drop has no window: files are processed once)."""
    done = run(source, warehouse=warehouse)
    batches = [o.batch_id for o in done.outcomes if o.batch_id]
    return SyncResult(
        source=source.name,
        batch_id=batches[-1] if batches else None,
        streams={s: done.count(s) for s in STATUSES},
        entities={**done.entities, "files": [vars(o) for o in done.outcomes]},
    )
