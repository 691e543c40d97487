"""A raw body held in memory or spilled to a temp file (issue 16): either reads the same, lands in the
landing folder under the same SHA-256 without being read into memory, and a crashed process's
spill files are swept by the next one."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from connectors.bodies import RawBody, _host, as_raw, discard, spill_file, sweep
from tourlink.flow.batch import raw_files
from warehouse.landing import land


def _spill(data: bytes) -> RawBody:
    path, sink = spill_file()
    with sink:
        sink.write(data)
    return RawBody(path=path, start=data[:16])


def test_a_raw_body_holds_bytes_or_a_path_never_both_nor_neither(tourlink_home):
    with pytest.raises(ValueError):
        RawBody("a.json")
    with pytest.raises(ValueError):
        RawBody("a.json", b"{}", tourlink_home / "x")


def test_in_memory_and_spilled_bodies_read_the_same(tourlink_home):
    data = bytes(range(256)) * 400
    kept, spilled = RawBody("p.xml", data), _spill(data)
    assert spilled.path.parent == tourlink_home / "tmp" and spilled.path.name.startswith(f"tourlink-body-{os.getpid()}-{_host()}-")
    for body in (kept, spilled):
        assert body.size == len(data)
        assert body.read_bytes() == data
        assert body.head(10) == data[:10] and body.head(1000) == data[:1000]  # beyond the kept start: from the file
        assert body.tail(7) == data[-7:]
        with body.open() as fh:
            assert fh.read() == data
    spilled.discard()
    spilled.discard()  # twice is fine
    assert not spilled.path.exists()


def test_a_spilled_body_lands_by_path_under_the_sha256_of_its_bytes(tourlink_home, tmp_path):
    data = os.urandom(3 << 20)
    spilled = _spill(data).named("teams-page-0001.xml")
    [path] = raw_files(tmp_path / "raw", [spilled])
    assert path.name == "teams-page-0001.xml"
    assert os.path.samefile(path, spilled.path)  # linked, not copied through memory
    landed = land(path, tourlink_home / "landing")
    assert landed.sha256 == hashlib.sha256(data).hexdigest() and landed.size == len(data)
    assert (tourlink_home / "landing" / landed.landing_path).read_bytes() == data
    discard([spilled])
    assert path.exists() and not spilled.path.exists()  # the landing copy stays; the temp file goes


def test_as_raw_wraps_bytes_and_names_a_body_without_copying_its_file(tourlink_home):
    assert as_raw(b"{}", "a.json") == RawBody("a.json", b"{}")
    spilled = _spill(b"<x/>")
    assert as_raw(spilled, "b.xml").path == spilled.path and as_raw(spilled, "b.xml").name == "b.xml"
    spilled.discard()


def test_the_spill_files_of_a_process_that_is_gone_are_swept_those_of_live_ones_kept(tourlink_home):
    folder = tourlink_home / "tmp"
    folder.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead, host = int(gone.stdout), _host()
    (folder / f"tourlink-body-{dead}-{host}-abc.part").write_bytes(b"left by a crash")
    (folder / f"tourlink-raw-{dead}-{host}-def").mkdir()
    (folder / f"tourlink-raw-{dead}-{host}-def" / "page.xml").write_bytes(b"<x/>")
    kept = [
        f"tourlink-body-{os.getpid()}-{host}-mine.part",  # this live process's
        f"tourlink-body-{dead}-0another-theirs.part",  # another host's (a shared TOURLINK_HOME): its pids mean nothing here
        "notes.txt",
    ]
    for name in kept:
        (folder / name).write_text("not swept")
    assert sweep(folder) == 2
    assert sorted(p.name for p in folder.iterdir()) == sorted(kept)
    mine, sink = spill_file()
    sink.close()
    assert mine.name.startswith(f"tourlink-body-{os.getpid()}-{host}-")
