"""Named points where a load can be killed or held on purpose, to prove a fault anywhere leaves no trace.

Set `TOURLINK_CRASH_AT` to a point's name (`merged:tour_group`, `before-commit`, …) and the process
SIGKILLs itself when it gets there: no cleanup, no rollback from Python, exactly like a dead machine.
With `TOURLINK_CRASH_HOLD` naming a file as well, the process instead creates that file and waits
(up to a minute) until it is removed: a test cuts the database connection meanwhile
(`pg_terminate_backend`), as a network fault would, and the real process meets the cut where it is.
Unset (always, in production), a point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

HOLD_SECONDS = 60.0


def reached(point: str) -> None:
    """Die, or wait for the fault to be injected, here if the environment asks for it at `point`."""
    if os.environ.get("TOURLINK_CRASH_AT") != point:
        return
    hold = os.environ.get("TOURLINK_CRASH_HOLD")
    if not hold:
        os.kill(os.getpid(), signal.SIGKILL)
        return
    flag = Path(hold)
    flag.write_text(str(os.getpid()))
    deadline = time.monotonic() + HOLD_SECONDS
    while flag.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
