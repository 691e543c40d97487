# ruff: noqa: F811 - the SFTP drop fixtures are imported from tests/flow/test_drop and requested by name
"""SFTP drops: the connection lost mid-download, several times per file and in several files of one
run, at seeded random offsets. Each drop leaves the file `interrupted` (kept in the inbox, its partial
download kept to resume); reruns go on from there until every file is imported. Afterwards every
tourist is in the warehouse exactly once and every file is archived once: nothing lost, nothing twice.
"""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from devkit.demo.spreadsheets import write_template_csv
from devkit.sandbox.sftp_server import ROSTER_HEADERS, roster_rows
from tests.faults.budget import fault_repeats
from tests.flow.test_drop import AGENCY, _archive, _batches, client_key, host_key, server, source, wh  # noqa: F401
from tourlink.flow import drop
from warehouse import tables

FILES, TOURISTS = 3, 400  # per scenario: three rosters of ~70 KB each
SCENARIOS = fault_repeats(4)


@pytest.mark.parametrize("scenario", range(SCENARIOS))
def test_downloads_cut_again_and_again_resume_and_load_every_row_once(scenario, server, source, wh, faults_record):
    rng = random.Random(scenario)
    folder = server.root / "inbox" / AGENCY
    folder.mkdir(parents=True)
    planned = 0
    for n in range(FILES):
        path = folder / f"团队名单_{n}.csv"
        write_template_csv(path, ROSTER_HEADERS, roster_rows(AGENCY, f"GN26101{n:02d}", tourists=TOURISTS, seed=n),
                           encoding="gbk")
        size = path.stat().st_size
        for offset in sorted(rng.sample(range(1, size - 1), rng.randint(1, 3))):
            server.drop_during_read(path.name, after_bytes=offset)
            planned += 1
    runs = 0
    while runs < planned + 2:
        runs += 1
        outcome = drop.run(source, warehouse=wh)
        statuses = {o.status for o in outcome.outcomes}
        assert statuses <= {"imported", "interrupted"}, statuses  # a clear outcome for each file, every run
        if not any(folder.glob("*.csv")):
            break
    left = len(server._faults)
    faults_record("faults", planned - left)
    member = tables.entity_tables["group_member"]
    with wh.engine.connect() as conn:
        total, distinct = conn.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(sa.tuple_(member.c.group_code, member.c.seq_no))))
        ).one()
    faults_record("rows_lost", max(0, FILES * TOURISTS - distinct))
    faults_record("rows_duplicated", total - distinct)
    assert (total, distinct) == (FILES * TOURISTS, FILES * TOURISTS)
    assert _batches(wh) == FILES  # one batch per file: none loaded twice
    assert len(list(_archive(server).glob("团队名单_*.csv"))) == FILES and not any(folder.glob("*.csv"))
