"""`tourlink.crash_points`: a point kills the process, or holds it until the test has injected its fault."""

from __future__ import annotations

import subprocess
import sys
import time

CODE = "from tourlink import crash_points; crash_points.reached('other'); crash_points.reached('here'); print('went on')"


def test_a_point_kills_the_process_when_asked(tmp_path):
    run = subprocess.run([sys.executable, "-c", CODE], env={"TOURLINK_CRASH_AT": "here"}, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == -9 and "went on" not in run.stdout


def test_a_held_point_waits_until_its_flag_is_removed_then_goes_on(tmp_path):
    flag = tmp_path / "held"
    process = subprocess.Popen([sys.executable, "-c", CODE], env={"TOURLINK_CRASH_AT": "here", "TOURLINK_CRASH_HOLD": str(flag)},
                               stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not flag.exists():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.02)
    time.sleep(0.3)
    assert process.poll() is None  # still held
    assert flag.read_text() == str(process.pid)
    flag.unlink()
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0 and out.strip() == "went on"
