"""Schema drift, end to end: the JSON:API vendor renames a traveler field between two syncs; the
second sync records a `renamed` finding and alerts a real webhook before any row is quarantined,
and `tourlink drift` lists it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from connectors.registry import get_source
from devkit.onboarding.check import SandboxSource, sandboxed
from tests.alerts.receivers import webhook
from tourlink import settings
from tourlink.cli import app
from tourlink.flow import sync


@pytest.fixture
def jsonapi() -> Iterator[SandboxSource]:
    with sandboxed(get_source("sandbox_jsonapi")) as box:
        yield box


def _quarantined(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("select count(*) from quarantine").scalar_one()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_renamed_vendor_field_is_a_finding_and_an_alert_before_rows_are_quarantined(jsonapi, tourlink_home, monkeypatch):
    url = settings.warehouse_url()
    quarantined_when_alerted: list[int] = []
    with webhook(on_post=lambda _: quarantined_when_alerted.append(_quarantined(url))) as (hook, posted):
        monkeypatch.setenv("TOURLINK_ALERT_WEBHOOK", hook)
        monkeypatch.delenv("TOURLINK_ALERT_SMTP", raising=False)
        first = sync(jsonapi.source)  # the baseline sighting: nothing to compare with
        assert posted == [] and all(c["quarantined"] == 0 for c in first.entities.values())

        jsonapi.sandbox.release.renames = {"travelers.full-name": "traveler-name", "tour-groups.exit-port": "departure-port"}
        jsonapi.sandbox.touch(2)
        second = sync(jsonapi.source)

    assert second.entities["group_member"]["quarantined"] > 0  # 姓名 is required: the rows still quarantine …
    assert quarantined_when_alerted == [0]  # … but the alert went out before any of them did
    alert = posted[0]
    assert alert["detail"]["kind"] == "schema_drift" and alert["detail"]["source"] == "sandbox_jsonapi"
    assert sorted((f["kind"], f["field"], f["renamed_to"]) for f in alert["detail"]["findings"]) == [
        ("renamed", "exit-port", "departure-port"),
        ("renamed", "travelers.full-name", "travelers.traveler-name"),
    ]
    assert "travelers.full-name" in alert["text"] and "group_member.name" in alert["text"]

    result = CliRunner().invoke(app, ["drift", "sandbox_jsonapi", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert {(f["field"], f["renamed_to"], f["fills"], f["alerted"]) for f in listed} == {
        ("exit-port", "departure-port", "tour_group.exit_port", "webhook"),
        ("travelers.full-name", "travelers.traveler-name", "group_member.name", "webhook"),
    }
    table = CliRunner().invoke(app, ["drift"])
    assert "疑似改名" in table.output and "sandbox_jsonapi" in table.output


@pytest.mark.slow
def test_an_added_field_is_reported_once_and_an_unchanged_source_raises_nothing(jsonapi, tourlink_home, monkeypatch):
    with webhook() as (hook, posted):
        monkeypatch.setenv("TOURLINK_ALERT_WEBHOOK", hook)
        monkeypatch.delenv("TOURLINK_ALERT_SMTP", raising=False)
        sync(jsonapi.source)
        jsonapi.sandbox.touch(2)
        sync(jsonapi.source)
        assert posted == []  # same fields as the baseline
        jsonapi.sandbox.release.added = {"tour-groups.insurance-policy": "PICC-1"}  # a new release adds a field
        for _ in range(2):
            jsonapi.sandbox.touch(1)
            sync(jsonapi.source)
    assert len(posted) == 1 and posted[0]["detail"]["findings"] == [
        {"stream": "tour-groups", "kind": "added", "field": "insurance-policy", "renamed_to": None, "fills": []}
    ]


@pytest.mark.slow
def test_airflows_extract_step_alerts_before_the_validate_step_runs_and_the_merge_sends_metrics(tmp_path, monkeypatch, tourlink_home):
    from connectors.reading import Window
    from tests.dags.conftest import SandboxRegistry
    from tourlink.flow import steps

    registry = SandboxRegistry(tmp_path / "sources", monkeypatch)
    box = registry.start("sandbox_jsonapi")
    monkeypatch.setenv("TOURLINK_PROMETHEUS_DIR", str(tmp_path / "textfiles"))
    try:
        with webhook() as (hook, posted):
            monkeypatch.setenv("TOURLINK_ALERT_WEBHOOK", hook)
            monkeypatch.delenv("TOURLINK_ALERT_SMTP", raising=False)
            for run in ("run-1", "run-2"):
                steps.extract("sandbox_jsonapi", run, Window())
                if run == "run-1":
                    assert posted == []
                else:
                    assert [f["field"] for f in posted[0]["detail"]["findings"]] == ["returns-on"]
                steps.validate("sandbox_jsonapi", run)
                merged = steps.merge("sandbox_jsonapi", run)
                box.sandbox.release.renames = {"tour-groups.returns-on": "back-on"}
                box.sandbox.touch(1)
    finally:
        registry.stop()
    assert merged["entities"]["tour_group"]["quarantined"] > 0  # the end date is required: those rows still quarantine
    assert "tourlink_batch_rows" in (tmp_path / "textfiles" / "tourlink_sandbox_jsonapi.prom").read_text()
