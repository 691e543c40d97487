"""`make demo` (`tourlink demo`): the main job, run as a user runs it, from an empty home.

The demo starts every sandbox on its registry port; no other test uses those ports (they all take
free ports), so it can run beside the rest of the suite.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from connectors.registry import load_sources

TOURLINK = str(Path(sys.executable).parent / "tourlink")


def _clean_env(home: Path) -> dict[str, str]:
    """The user's environment without anything a previous Airflow or sandbox session left behind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SANDBOX_", "TOURLINK_"))}
    return env | {"TOURLINK_HOME": str(home), "COLUMNS": "200"}


def test_the_demo_syncs_every_sandbox_source_through_airflow_and_prints_the_published_figures(tmp_path):
    home = tmp_path / "home"
    env = _clean_env(home)

    demo = subprocess.run([TOURLINK, "demo"], capture_output=True, text=True, env=env, timeout=1500)

    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    sandbox_sources = [s.name for s in load_sources().values() if "sandbox" in s.tags]
    with sqlite3.connect(home / "warehouse.db") as db:
        committed = {source for (source,) in db.execute("select source from batch where status = 'committed'")}
        states = dict(db.execute("select source, count(*) from batch where status != 'committed' group by source"))
        snapshot = db.execute("select version, figures from indicator_snapshot where month = '2026-10'").fetchall()
        groups_by_source = dict(
            db.execute("select b.source, count(*) from tour_group g join batch b on b.batch_no = g._batch_no group by b.source")
        )
    for name in sandbox_sources:
        assert f"tourlink_sync__{name}" in demo.stdout and name in committed, name
    assert states == {}, "no batch of the demo failed or was abandoned"
    assert {"sandbox_signed_json", "sandbox_oauth_cursor", "sandbox_legacy_xml", "sandbox_jsonapi"} <= set(
        groups_by_source
    )
    assert all(line.count("success") == 1 for line in demo.stdout.splitlines() if "tourlink_sync__" in line)
    assert "tourlink_monthly_indicators: success" in demo.stdout

    ((version, figures),) = snapshot
    assert version == 1
    published = {(f["region"], f["indicator"]): f for f in json.loads(figures)}
    cli = subprocess.run(
        [TOURLINK, "indicators", "--month", "2026-10", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=300,
    )
    for figure in json.loads(cli.stdout):
        stored = published[("CN", figure["indicator"])]
        assert (stored["numerator"], stored["denominator"]) == (figure["numerator"], figure["denominator"])
    printed = re.search(r"│\s+1 │ 出境团队填报数量\s+│\s+(\d+) │", demo.stdout)
    assert printed, demo.stdout[-3000:]
    assert int(printed.group(1)) == published[("CN", 1)]["numerator"] > 0

    reports = [
        Path(line.removeprefix("report: ").strip()) for line in demo.stdout.splitlines() if line.startswith("report: ")
    ]
    liaoning = next(p for p in reports if p.name.startswith("failures-21-"))
    assert all(p.is_file() for p in reports)
    assert "沈阳" in liaoning.read_text(encoding="utf-8")  # Liaoning's agencies, with their quarantined rows
