"""The landing folder keeps every raw input once, by content, and never a truncated file under its name."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from warehouse.landing import land, sha256_of


def test_a_file_lands_under_its_sha256_with_its_suffix_and_the_same_content_lands_once(tmp_path):
    body = tmp_path / "团队名单.CSV"
    body.write_bytes("团队编号,姓名\nGN1,王伟\n".encode())
    landing = tmp_path / "landing"
    first = land(body, landing)
    sha = hashlib.sha256(body.read_bytes()).hexdigest()
    assert (first.sha256, first.landing_path, first.size) == (sha, f"{sha[:2]}/{sha}.csv", body.stat().st_size)
    again = tmp_path / "copy.csv"
    again.write_bytes(body.read_bytes())
    assert land(again, landing) == first
    assert [p.name for p in landing.rglob("*") if p.is_file()] == [f"{sha}.csv"]


def test_a_compressed_file_keeps_both_suffixes(tmp_path):
    body = tmp_path / "roster.csv.gz"
    body.write_bytes(b"\x1f\x8b not really")
    assert land(body, tmp_path / "landing").landing_path.endswith(".csv.gz")


def test_landing_the_same_content_again_touches_the_file_so_retention_sees_it_fresh(tmp_path):
    body = tmp_path / "page.json"
    body.write_bytes(b'{"list": []}')
    landed = land(body, tmp_path / "landing")
    target = tmp_path / "landing" / landed.landing_path
    old = time.time() - 5 * 86400
    os.utime(target, (old, old))
    land(body, tmp_path / "landing")
    assert target.stat().st_mtime > old + 4 * 86400


def test_a_copy_that_fails_leaves_no_file_under_the_final_name(tmp_path, monkeypatch):
    body = tmp_path / "big.xml"
    body.write_bytes(b"<x/>" * 1000)
    landing = tmp_path / "landing"

    def cut(src, out, length):
        out.write(src.read(10))
        raise OSError("disk full")

    monkeypatch.setattr("warehouse.landing.shutil.copyfileobj", cut)
    with pytest.raises(OSError, match="disk full"):
        land(body, landing)
    assert [p for p in landing.rglob("*") if p.is_file()] == []
    assert sha256_of(body) == hashlib.sha256(body.read_bytes()).hexdigest()
