"""`tourlink drift`: the findings of the sources' syncs, scoped by the sources' regions and audit-logged."""

from __future__ import annotations

import json
from datetime import datetime

from typer.testing import CliRunner

from tests.cli.operators import act_as
from tourlink.audit.log import query
from tourlink.cli import app
from warehouse.drift import record_sighting
from warehouse.load import Warehouse


def _findings(home) -> Warehouse:
    wh = Warehouse()
    for source, sighting in (("sandbox_signed_json", "s-1"), ("sandbox_jsonapi", "s-2")):  # regions 110000, 440000
        record_sighting(wh.engine, sighting=sighting, source=source, at=datetime(2026, 3, 1, 2, 0), fields={"teams": {"teamNo": "text"}},
                        findings=[{"stream": "teams", "kind": "vanished", "field": "lineName", "renamed_to": None,
                                   "fills": "tour_group.route_name", "alerted": None}])
    return wh


def _listed(*args: str) -> list[str]:
    result = CliRunner().invoke(app, ["drift", *args, "--json"])
    assert result.exit_code == 0, result.output
    return sorted(f["source"] for f in json.loads(result.output))


def test_a_steward_sees_the_findings_of_their_regions_sources_only(tourlink_home):
    wh = _findings(tourlink_home)
    act_as(tourlink_home, "beijing", "11")
    assert _listed() == ["sandbox_signed_json"]
    assert _listed("sandbox_jsonapi") == []  # another region's source: nothing, not an error
    act_as(tourlink_home, "liaoning", "21")
    assert _listed() == []
    act_as(tourlink_home, "ops", "CN", role="admin")
    assert _listed() == ["sandbox_jsonapi", "sandbox_signed_json"]
    table = CliRunner().invoke(app, ["drift", "sandbox_jsonapi"]).output
    assert "字段消失" in table and "lineName" in table and "tour_group.route_name" in table
    assert [(e["actor"], e["region"], e["rows"]) for e in query(wh.engine, action="drift")][:3] == [
        ("beijing", "11", 1), ("beijing", "11", 0), ("liaoning", "21", 0)
    ]
    wh.engine.dispose()
