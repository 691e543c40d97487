"""Named points where a load can be killed on purpose, to prove a crash anywhere leaves no trace.

Set `TOURLINK_CRASH_AT` to a point's name (`merged:tour_group`, `before-commit`, …) and the process
SIGKILLs itself when it gets there: no cleanup, no rollback from Python, exactly like a dead machine.
Unset (always, in production), a point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal


def reached(point: str) -> None:
    """Die here if the environment asks for a crash at `point`."""
    if os.environ.get("TOURLINK_CRASH_AT") == point:
        os.kill(os.getpid(), signal.SIGKILL)
