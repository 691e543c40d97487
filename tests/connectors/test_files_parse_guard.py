"""`connectors/files/parse_guard.py`: calamine parses an xls/xlsb/ods in a bounded child first, so a file
that would make it ask for gigabytes is refused naming the file and the bound, and never reaches the
reader's own process; normal files read as before for a few milliseconds more."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from connectors.files import ReaderLimits, UnreadableFile, parse_guard, read_source
from tests.connectors.hostile import huge_dimension_xls, repeated_rows_ods
from tests.connectors.workbook_writers import write_odfpy, write_xlwt

KNOWN = ["团号", "姓名", "证件号码"]
TOURLINK = str(Path(sys.executable).parent / "tourlink")


def _read(path: Path, limits: ReaderLimits | None = None) -> int:
    return sum(f.data.height for f in read_source(path, known_headers=KNOWN, limits=limits or ReaderLimits()))


@pytest.mark.parametrize("make", [huge_dimension_xls, repeated_rows_ods])
def test_a_workbook_calamine_would_parse_into_gigabytes_is_refused_naming_the_bound(make, tmp_path):
    path = make(tmp_path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(UnreadableFile) as refused:
        _read(path)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) >> 10
    assert refused.value.file == path.name
    assert "2048 MiB" in refused.value.reason and "TOURLINK_READER_MAX_PARSE_BYTES" in refused.value.reason
    assert "内存超过平台上限" in refused.value.reason_zh
    assert grown_mib < 200  # the gigabytes were asked for in the child, not here


def test_a_parse_past_its_deadline_is_killed_and_refused(tmp_path):
    path = repeated_rows_ods(tmp_path)  # with room enough, calamine grinds for ~20 s
    started = time.monotonic()
    with pytest.raises(UnreadableFile) as refused:
        _read(path, ReaderLimits(max_parse_bytes=8 << 30, max_parse_seconds=1))
    assert time.monotonic() - started < 10
    assert "more than 1 s" in refused.value.reason and "TOURLINK_READER_MAX_PARSE_SECONDS" in refused.value.reason
    assert "超过1秒" in refused.value.reason_zh


def test_a_file_calamine_cannot_open_is_refused_by_the_guard_with_the_readers_message(tmp_path):
    path = tmp_path / "not-really.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)  # a CFB signature, nothing after
    with pytest.raises(UnreadableFile) as refused:
        _read(path)
    assert refused.value.reason.startswith("cannot open as .xls:") and "无法打开xls文件" in refused.value.reason_zh


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_normal_workbooks_read_as_before_for_a_few_milliseconds_more(fmt, tmp_path):
    path = tmp_path / f"roster.{fmt}"
    rows = [[f"T{i // 10}", "张三", f"21010219900101{i:04d}"] for i in range(200)]
    (write_xlwt if fmt == "xls" else write_odfpy)(path, "标题", KNOWN, rows, None)
    assert _read(path) == 200 == _read(path, ReaderLimits(max_parse_bytes=0))  # 0: the guard is off
    parse_guard.parse_in_child(path, ReaderLimits())  # the server is warm
    started = time.perf_counter()
    for _ in range(10):
        assert parse_guard.parse_in_child(path, ReaderLimits())["outcome"] == "ok"
    per_file = (time.perf_counter() - started) / 10
    assert per_file < 0.25, per_file  # ~3 ms idle (a fork and calamine's native parse); loose for a busy CI box


def test_a_guard_server_that_died_is_started_again(tmp_path):
    path = tmp_path / "roster.xls"
    write_xlwt(path, "标题", KNOWN, [["T1", "张三", "1"]], None)
    assert parse_guard.parse_in_child(path, ReaderLimits())["outcome"] == "ok"
    server = parse_guard._server
    assert server is not None
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    assert parse_guard.parse_in_child(path, ReaderLimits())["outcome"] == "ok"
    assert parse_guard._server is not None and parse_guard._server.pid != server.pid


def test_tourlink_import_refuses_the_hostile_xls_with_exit_2_naming_it(tmp_path):
    path = huge_dimension_xls(tmp_path)
    env = {**os.environ, "TOURLINK_HOME": str(tmp_path / "home")}
    env.pop("TOURLINK_WAREHOUSE_URL", None)
    run = subprocess.run([TOURLINK, "import", str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and "panicked" not in run.stderr
    assert f"cannot read {path}" in run.stderr and "max_parse_bytes" in run.stderr
    assert "nothing of this batch was loaded" in run.stderr


def _honest_xls(folder: Path) -> Path:
    """3.5 MB of roster-like xls: calamine needs ~50 MB of address space for it (16 MB of it the child's own)."""
    path = folder / "honest.xls"
    rows = [[f"T{i // 30}", f"张三{i % 97}", f"21010219900101{i:06d}"] + [f"列{i % 13}"] * 7 for i in range(20_000)]
    write_xlwt(path, "标题", KNOWN + [f"其他{k}" for k in range(7)], rows, None)
    return path


def test_the_bound_grows_with_an_honest_files_content_so_a_big_province_file_is_read(tmp_path):
    # A small base bound stands in for the 2 GiB a 1 M-row xls (303 MB, ~2.4 GB to parse) is past.
    path = _honest_xls(tmp_path)
    small = ReaderLimits(max_parse_bytes=24 << 20)
    assert parse_guard.parse_bound(path, small) > 12 * path.stat().st_size  # 64 MiB + 12 × its size
    with pytest.raises(UnreadableFile) as refused:  # the base bound alone: refused
        _read(path, ReaderLimits(max_parse_bytes=24 << 20, max_parse_bytes_ceiling=24 << 20))
    assert "24 MiB" in refused.value.reason
    assert _read(path, small) == 20_000  # the bound for its size: read


@pytest.mark.parametrize("make", [huge_dimension_xls, repeated_rows_ods])
def test_a_tiny_hostile_file_has_no_content_to_raise_the_bound(make, tmp_path):
    path = make(tmp_path)
    assert parse_guard.parse_bound(path, ReaderLimits()) == 2 << 30
    small = ReaderLimits(max_parse_bytes=24 << 20)
    assert parse_guard.parse_bound(path, small) < 65 << 20  # 64 MiB for the child's interpreter, next to nothing for it
    with pytest.raises(UnreadableFile) as refused:
        _read(path, small)
    assert "内存超过平台上限" in refused.value.reason_zh


def test_a_zip_members_declared_sizes_raise_the_bound_only_up_to_the_ceiling(tmp_path):
    path = tmp_path / "roster.ods"
    write_odfpy(path, "标题", KNOWN, [["T1", "张三", "1"]], None)
    inflated = sum(m.file_size for m in zipfile.ZipFile(path).infolist())
    limits = ReaderLimits(max_parse_bytes=1 << 20)
    assert parse_guard.parse_bound(path, limits) == (64 << 20) + 3 * inflated  # 3 × its XML, not its zipped size
    assert parse_guard.parse_bound(path, ReaderLimits(max_parse_bytes=1 << 20, max_parse_bytes_ceiling=2 << 20)) == 2 << 20
