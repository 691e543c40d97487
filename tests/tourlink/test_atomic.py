"""tourlink/atomic.py: a file is replaced whole or not at all."""

from __future__ import annotations

import pytest

from tourlink.atomic import atomic_file


def test_the_file_takes_the_new_bytes_when_the_block_ends(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(b"old")
    with atomic_file(path, prefix=".t-") as out:
        out.write(b"new ")
        out.write(b"bytes")
        assert path.read_bytes() == b"old"  # nothing under the final name before the rename
        assert [p.name.startswith(".t-") for p in tmp_path.iterdir() if p != path] == [True]
    assert path.read_bytes() == b"new bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roster.csv"]


def test_a_failure_midway_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_file(path, prefix=".t-") as out:
        out.write(b"half")
        raise RuntimeError("disk gone")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roster.csv"]


def test_a_new_file_appears_only_complete(tmp_path):
    path = tmp_path / "new.bin"
    with pytest.raises(KeyboardInterrupt), atomic_file(path, prefix=".t-") as out:
        out.write(b"x")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with atomic_file(path, prefix=".t-") as out:
        out.write(b"x" * 10)
    assert path.read_bytes() == b"x" * 10
