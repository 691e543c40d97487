"""The `tourlink_retention` DAG applies the configured retention and writes it to the audit log."""

from __future__ import annotations

import csv

import sqlalchemy as sa

from tests.cli.rosters import ROSTER_HEADERS
from tests.dags.conftest import REPO, task_states
from tourlink import settings
from tourlink.audit import query

ID_NUMBER = "210102198005060017"


def test_the_retention_dag_redacts_expired_landing_files_and_is_audited(airflow_metadata, tourlink_home, monkeypatch, tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    from tourlink.pipeline import import_files

    roster = tmp_path / "名单.csv"
    with open(roster, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(ROSTER_HEADERS)
        writer.writerow(["GN2603009", "国内", "91210100MA0SYA001X", "91210100MA0SYA001X", "辽东3日游", "2026-03-10",
                         "2026-03-12", "辽宁省", "", "", "21", 1, "已提交", "2026-03-05 09:00:00", 1, "王伟", "男",
                         "1980-05-06", "身份证", ID_NUMBER, "13812345678"])  # fmt: skip
    import_files([roster])
    landed = [p for p in settings.landing_dir().rglob("*.csv")]
    assert landed and ID_NUMBER in landed[0].read_text(encoding="utf-8")
    monkeypatch.setenv("TOURLINK_RETENTION_DAYS", "0")

    bag = DagBag(dag_folder=str(REPO / "dags" / "tourlink_retention.py"))
    assert bag.import_errors == {}
    run = bag.dags["tourlink_retention"].test()
    assert str(run.state) == "success", task_states(run)
    assert ID_NUMBER not in landed[0].read_text(encoding="utf-8")
    engine = sa.create_engine(settings.warehouse_url())
    events = query(engine, action="retention")
    engine.dispose()
    assert [(e["actor"], e["channel"], e["detail"]["applied"], e["detail"]["landing"]) for e in events] == [
        ("airflow", "airflow", True, {"redact": 1})]
