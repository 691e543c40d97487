"""Calamine parses an untrusted xls/xlsb/ods (or an xlsx the streamed reader cannot take) in a child first.

A few bytes changed in an xls or an ods can make calamine ask for 8–10 GB (a 1.7 KB ods repeating a
row 99,000 times over 1,000 columns reaches 6 GB), and Rust aborts the whole process when an
allocation fails: no bound inside the reader can catch that. So before the reader opens such a file,
a child of a warm server (`parse_child.py`: python-calamine and the standard library only, started
once per process) parses it under an address-space limit (`RLIMIT_AS`, `ReaderLimits.max_parse_bytes`)
and a deadline (`max_parse_seconds`). A file past either is refused, naming the file, the bound and
the setting; the reader's own process never meets it. A file within them is then read as before —
the same bytes, the same parse, so the same memory; one calamine cannot open at all is refused here
with the reader's own message (and the parent never prints calamine's panic).

The address-space bound grows with the file's content (`parse_bound`): a province's honest 1 M-row
xls (303 MB) or ods (1.8 GB of XML) needs 2.4–3.5 GB, past the 2 GiB that refuses a hostile 2 KB file, so
the bound is the larger of `max_parse_bytes` and 64 MiB + a measured factor × the content (the file's size for
an xls, the inflated size its zip's central directory declares for xlsb/ods/xlsx; `check_zip` has
already bounded those declarations by ratio and total), at most `max_parse_bytes_ceiling`. A tiny file
claiming a huge dimension or repeating a row 99,000 times has no content to raise it.

Cost per file: a fork of a small process (~2 ms) plus calamine's native parse once more (the Python
conversion of rows, the larger part of reading, is not repeated). `max_parse_bytes = 0` turns the
guard off.
"""

from __future__ import annotations

import atexit
import json
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

from connectors.files.errors import UnreadableFile
from connectors.files.limits import ReaderLimits

_SERVER = Path(__file__).with_name("parse_child.py")
_lock = threading.Lock()
_server: subprocess.Popen[str] | None = None


def _start() -> subprocess.Popen[str]:
    server = subprocess.Popen(
        [sys.executable, "-I", str(_SERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, bufsize=1,
    )
    atexit.register(_stop, server)
    return server


def _stop(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        assert server.stdin is not None
        server.stdin.close()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()


_ZIPPED = {".xlsx", ".xlsm", ".xlsb", ".ods"}  # content: the members' declared sizes (check_zip bounded them)
_BINARY = {".xls", ".xlsb"}  # calamine's cells per byte of BIFF/BIFF12 records; the others are XML
_INTERPRETER = 64 << 20  # the child's own address space before it parses (Python + calamine: ~16 MB)


def parse_bound(path: Path, limits: ReaderLimits) -> int:
    """The address space calamine may take for `path`: `max_parse_bytes`, raised in proportion to the
    file's content (see the module's docstring) up to `max_parse_bytes_ceiling`."""
    suffix = path.suffix.lower()
    try:
        if suffix in _ZIPPED:
            with zipfile.ZipFile(path) as archive:
                content = sum(m.file_size for m in archive.infolist())
        else:
            content = path.stat().st_size
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        content = 0  # calamine will not open it either: the base bound
    content = min(content, limits.max_uncompressed_bytes)  # what check_zip let through, never more
    factor = limits.parse_bytes_per_binary_byte if suffix in _BINARY else limits.parse_bytes_per_xml_byte
    scaled = min(_INTERPRETER + factor * content, limits.max_parse_bytes_ceiling)
    return max(limits.max_parse_bytes, scaled)


def parse_in_child(path: Path, limits: ReaderLimits, max_bytes: int | None = None) -> dict[str, Any]:
    """The child's outcome for `path` under `max_bytes` of address space (default: `parse_bound`):
    {"outcome": ok|unopenable|memory|time|crash, "peak_kib": …}."""
    global _server
    bound = parse_bound(path, limits) if max_bytes is None else max_bytes
    request = json.dumps({"path": str(path.resolve()), "max_bytes": bound,
                          "seconds": limits.max_parse_seconds}) + "\n"
    with _lock:
        for attempt in (1, 2):  # a server gone (killed by someone) is started again, once
            if _server is None or _server.poll() is not None:
                _server = _start()
            assert _server.stdin is not None and _server.stdout is not None
            try:
                _server.stdin.write(request)
                _server.stdin.flush()
                line = _server.stdout.readline()
            except (BrokenPipeError, OSError):
                line = ""
            if line:
                return json.loads(line)
            _server.kill()
            _server = None
            if attempt == 2:
                return {"outcome": "crash", "detail": "the parse guard's server ended", "peak_kib": 0}
    raise AssertionError("unreachable")  # pragma: no cover


def guard_parse(path: Path, limits: ReaderLimits) -> None:
    """Refuse `path` (UnreadableFile) if parsing it with calamine passes the memory or time bound."""
    if limits.max_parse_bytes <= 0:
        return
    bound = parse_bound(path, limits)
    result = parse_in_child(path, limits, bound)
    outcome = result["outcome"]
    if outcome == "ok":
        return
    fmt = path.suffix.lstrip(".").lower() or "workbook"
    if outcome == "unopenable":  # as `workbook._open` says it, without calamine's panic message on stderr
        raise UnreadableFile(
            path.name, f"无法打开{fmt}文件：文件已损坏或格式与扩展名不符，请用Excel重新保存后上传",
            f"cannot open as {path.suffix}: {result.get('error', '')}",
        )
    mib = bound >> 20
    if outcome == "memory":
        scaled = "" if bound == limits.max_parse_bytes else (
            " — the bound for this file's size; parse_bytes_per_binary_byte/_xml_byte, max_parse_bytes_ceiling"
        )
        raise UnreadableFile(
            path.name,
            f"解析该{fmt}文件所需内存超过平台上限（{mib} MiB）：文件已损坏或内容异常，请用Excel重新保存后上传",
            f"parsing it needs more than {mib} MiB (max_parse_bytes, TOURLINK_READER_MAX_PARSE_BYTES{scaled}): "
            "refused as damaged or hostile",
        )
    if outcome == "time":
        raise UnreadableFile(
            path.name,
            f"解析该{fmt}文件超过{limits.max_parse_seconds}秒仍未完成：文件已损坏或内容异常，请用Excel重新保存后上传",
            f"parsing it took more than {limits.max_parse_seconds} s (max_parse_seconds, "
            "TOURLINK_READER_MAX_PARSE_SECONDS): refused as damaged or hostile",
        )
    raise UnreadableFile(
        path.name,
        f"解析该{fmt}文件时解析器异常退出：文件已损坏，请用Excel重新保存后上传",
        f"the parser died on it ({result.get('detail', outcome)}): refused as damaged",
    )
