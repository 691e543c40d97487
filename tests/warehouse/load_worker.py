"""A separate process that loads one large roster batch (the crash test kills it mid-batch).

Usage: python -m tests.warehouse.load_worker URL LANDING_DIR GROUPS
Prints `started <backend pid or 0>` once the batch transaction is open, `done` when committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.warehouse.entity_frames import roster_frames
from warehouse.load import Warehouse


def main(url: str, landing: str, groups: int) -> None:
    tour_groups, members = roster_frames(groups)
    wh = Warehouse(url, landing_dir=Path(landing))
    with wh.batch("kill-test") as b:
        pid = b.connection.exec_driver_sql("select pg_backend_pid()").scalar() if wh.dialect == "postgresql" else 0
        b.merge("tour_group", tour_groups)
        print(f"started {pid}", flush=True)
        b.merge("group_member", members)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
