"""A failed and an empty nightly sync each send an alert to a webhook receiver on loopback."""

from __future__ import annotations

from tests.alerts.receivers import webhook
from tests.dags.conftest import night, nightly_dag, task_states


def test_a_failed_sync_alerts(airflow_metadata, tourlink_home, sandbox_registry, monkeypatch):
    sandbox_registry.start("sandbox_oauth_cursor", credentials={"client_secret": "not-the-secret"})
    with webhook() as (url, posted):
        monkeypatch.setenv("TOURLINK_ALERT_WEBHOOK", url)
        run = nightly_dag("sandbox_oauth_cursor").test(logical_date=night(2026, 11, 20))
    assert str(run.state) == "failed"
    failed = [p for p in posted if p["detail"]["kind"] == "task_failed"]
    assert [(p["detail"]["dag_id"], p["detail"]["task_id"]) for p in failed] == [("tourlink_sync__sandbox_oauth_cursor", "extract")]
    assert "失败" in failed[0]["subject"] and "not-the-secret" not in failed[0]["text"]


def test_an_empty_sync_of_a_source_that_usually_sends_rows_alerts(airflow_metadata, tourlink_home, sandbox_registry, monkeypatch):
    box = sandbox_registry.start("sandbox_signed_json")
    monkeypatch.setenv("TOURLINK_ALERT_EMPTY_MIN", "10")  # the sandbox sends 30 groups with their members
    with webhook() as (url, posted):
        monkeypatch.setenv("TOURLINK_ALERT_WEBHOOK", url)
        first = nightly_dag("sandbox_signed_json").test(logical_date=night(2026, 11, 22))
        assert str(first.state) == "success", task_states(first)
        assert posted == []  # rows arrived: no alert
        with box.sandbox.lock:  # the vendor's feed goes silent
            box.sandbox.data.groups.clear()
            box.sandbox.data.contracts.clear()
        second = nightly_dag("sandbox_signed_json").test(logical_date=night(2026, 11, 23))
    assert str(second.state) == "success", task_states(second)
    empty = [p for p in posted if p["detail"]["kind"] == "empty_sync"]
    assert len(empty) == 1 and empty[0]["detail"]["source"] == "sandbox_signed_json"
    assert empty[0]["detail"]["usual_rows"] >= 30 and "0 行" in empty[0]["subject"]
