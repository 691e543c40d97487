"""The warm parse guard's server: run as a script (`python -I parse_child.py`), never imported by the readers.

It imports python-calamine and the standard library only, so forking it is cheap (~2 ms) and a child's
address space starts small. For each request on stdin (one JSON line: path, max_bytes, seconds) it
forks a child that limits its own address space (`RLIMIT_AS`), opens the workbook and loads every
sheet with calamine (the steps that allocate), and reports; the server kills a child past its time.
One JSON line goes back on stdout: `outcome` is `ok` (calamine parsed it; a damaged sheet is left
for the reader to name), `unopenable` (calamine cannot open it, with its error), `memory` (past the bound: a MemoryError or an allocation abort),
`time` (killed at the deadline) or `crash` (another signal), with the child's peak RSS in KiB.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import sys
import time

os.environ["RUST_BACKTRACE"] = "0"  # a panic's backtrace costs ~15 ms to print, to /dev/null

import python_calamine  # noqa: E402  # loaded once, before any fork


def _probe(path: str) -> dict:
    """Parse as the reader will: open, then load each sheet (calamine holds a sheet's whole range)."""
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(path)
    except MemoryError:
        raise
    except BaseException as exc:  # noqa: BLE001 - calamine cannot open it: told as the reader would
        return {"outcome": "unopenable", "error": f"{type(exc).__name__}: {exc}"[:500]}
    for index in range(len(workbook.sheet_names)):
        try:
            workbook.get_sheet_by_index(index)
        except MemoryError:
            raise
        except BaseException:  # noqa: BLE001 - a damaged sheet: the reader names it and reads the others
            continue
    return {"outcome": "ok"}


def _child(path: str, max_bytes: int, out: int) -> None:
    result = {"outcome": "ok"}
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)  # an allocation abort's or a panic's message is not the operator's
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort writes no core file
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))
        result = _probe(path)
    except MemoryError:
        result = {"outcome": "memory"}
    os.write(out, json.dumps(result).encode())
    os._exit(0)


def _wait(pid: int, reply: int, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    data = b""
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([reply], [], [], left)
        if ready:
            chunk = os.read(reply, 65536)
            if not chunk:
                break
            data += chunk
    os.close(reply)
    _, status, usage = os.wait4(pid, 0)
    peak = usage.ru_maxrss
    if timed_out:
        return {"outcome": "time", "peak_kib": peak}
    if data:
        return {**json.loads(data), "peak_kib": peak}
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGABRT, signal.SIGBUS):
        return {"outcome": "memory", "peak_kib": peak}  # Rust aborts when an allocation fails
    return {"outcome": "crash", "detail": f"status {status}", "peak_kib": peak}


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        reply, out = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(reply)
            _child(request["path"], int(request["max_bytes"]), out)
        os.close(out)
        sys.stdout.write(json.dumps(_wait(pid, reply, float(request["seconds"]))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
