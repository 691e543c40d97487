"""`tourlink indicators`, `incentive` and `findings` against a small warehouse file."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.warehouse.test_indicators_builder import Builder
from tourlink.cli import app
from warehouse import tables

runner = CliRunner()


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Builder:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    monkeypatch.setenv("TOURLINK_WAREHOUSE_URL", url)
    engine = sa.create_engine(url)
    tables.metadata.create_all(engine)
    wh = Builder(engine)
    wh.agency("SY", division="210102", name="沈阳国旅")
    wh.agency("DL", division="210202")
    wh.agency("BJ", division="110101")
    wh.agency("ORG", division="110101")
    wh.group("SY", "G1", members=2)
    wh.contract("C1", "SY", tourists=3)
    wh.group("ORG", "R1", group_type="DOMESTIC", start=date(2026, 6, 1), receiving="DL",
             submitted=datetime(2026, 6, 2), members=[{"residence_province": "11"}, {"nationality": "JPN"}])
    wh.key_city(2026, "2101", "沈阳")
    wh.key_city(2026, "2102", "大连")
    wh.key_agency(2026, 1, "SY")
    yield wh
    engine.dispose()


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_indicators_json_for_a_province_given_as_six_digits(warehouse):
    out = json.loads(invoke("indicators", "--month", "2026-03", "--region", "210000", "--json").stdout)
    assert [f["indicator"] for f in out] == list(range(1, 9))
    assert out[1] == {"month": "2026-03", "region": "21", "indicator": 2, "numerator": 1, "denominator": 2, "value": 50.0}
    assert out[0] == {"month": "2026-03", "region": "21", "indicator": 1, "numerator": 1, "denominator": None, "value": 1}
    assert out[6]["value"] == 150.0
    nation = json.loads(invoke("indicators", "--month", "2026-03", "--json").stdout)
    assert nation[1]["region"] == "CN" and nation[1]["denominator"] == 4


def test_indicators_table_has_chinese_names(warehouse):
    out = invoke("indicators", "--month", "2026-03", "--region", "2101").stdout
    assert "当月填报过出境团队的出境社数量占比" in out and "100.0%" in out


def test_key_cities_and_key_agencies_json(warehouse):
    cities = json.loads(invoke("indicators", "--month", "2026-03", "--key-cities", "--region", "21", "--json").stdout)
    assert [(c["city_code"], c["rank"]) for c in cities] == [("2101", 1), ("2102", 2)]
    assert cities[0]["indicators"][1]["region"] == "2101"
    agencies = json.loads(invoke("indicators", "--month", "2026-03", "--key-agencies", "--json").stdout)
    assert agencies == [{"uscc": "SY", "month": "2026-03", "filed": True, "indicators": [
        {"indicator": 1, "numerator": 1, "denominator": None, "value": 1},
        {"indicator": 3, "numerator": 1, "denominator": None, "value": 1},
        {"indicator": 5, "numerator": 1, "denominator": None, "value": 1},
        {"indicator": 6, "numerator": 1, "denominator": None, "value": 1},
        {"indicator": 7, "numerator": 3, "denominator": 2, "value": 150.0},
    ]}]


def test_publish_freezes_a_version(warehouse):
    first = runner.invoke(app, ["indicators", "--month", "2026-03", "--publish"])
    assert first.exit_code == 0 and "第1版" in first.stdout
    again = runner.invoke(app, ["indicators", "--month", "2026-03", "--publish"])
    assert "第1版" in again.stdout


def test_incentive_json(warehouse):
    out = json.loads(invoke("incentive", "--year", "2026", "--json").stdout)
    assert len(out) == 1
    dl = out[0]
    assert {k: dl[k] for k in ("uscc", "eligible_groups", "late_groups", "overseas", "out_of_province")} == {
        "uscc": "DL", "eligible_groups": 1, "late_groups": 0, "overseas": 1, "out_of_province": 1}
    assert dl["groups"][0]["group_code"] == "R1" and dl["groups"][0]["late"] is False
    assert set(dl) == {"uscc", "name", "eligible_groups", "late_groups", "overseas", "out_of_province", "groups"}
    late = json.loads(invoke("incentive", "--year", "2026", "--cutoff", "2026-01-01", "--json").stdout)
    assert late[0]["eligible_groups"] == 1  # filed the day after arrival: in time either way


def test_findings_json_per_agency_and_month(warehouse):
    out = json.loads(invoke("findings", "--month", "2026-03", "--json").stdout)
    assert {(f["rule"], f["agency_uscc"]) for f in out} == {("LEADER_MISSING", "SY"), ("ROSTER_VS_CONTRACT", "SY")}
    assert json.loads(invoke("findings", "--month", "2026-03", "--region", "11", "--json").stdout) == []


def test_a_bad_region_is_a_clear_error(warehouse):
    result = runner.invoke(app, ["indicators", "--month", "2026-03", "--region", "21x"])
    assert result.exit_code != 0 and "区划代码" in result.output


def test_the_command_starts_without_heavy_libraries(warehouse):
    code = (
        "import sys; from tourlink.cli import app\n"
        "try:\n    app(['indicators', '--month', '2026-03', '--json'])\nexcept SystemExit: pass\n"
        "heavy = [m for m in ('pandas', 'polars', 'great_expectations', 'matplotlib') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


@pytest.mark.parametrize(("code", "region"), [("21", "21"), ("210000", "21"), ("2101", "2101"), ("210100", "2101")])
def test_every_region_form_answers_with_the_normalised_prefix(warehouse, code, region):
    out = json.loads(invoke("indicators", "--month", "2026-03", "--region", code, "--json").stdout)
    assert {f["region"] for f in out} == {region}
    assert [(f["indicator"], f["numerator"], f["denominator"]) for f in out][:2] == [
        (1, 1, None), (2, 1, 2 if region == "21" else 1)]


def test_key_cities_without_a_province_is_a_clear_error_not_a_traceback(warehouse):
    for args in ([], ["--region", "2101"], ["--region", "CN"]):
        result = runner.invoke(app, ["indicators", "--month", "2026-03", "--key-cities", *args, "--json"])
        assert result.exit_code == 2, result.output  # a usage error, not an uncaught ValueError (exit 1)
        assert "省份" in result.output


def test_incentive_needs_a_province_code(warehouse):
    result = runner.invoke(app, ["incentive", "--year", "2026", "--province", "2101"])
    assert result.exit_code == 2 and "省级" in result.output


def test_human_incentive_and_findings_tables_are_in_chinese(warehouse):
    incentive_out = invoke("incentive", "--year", "2026").stdout
    assert "引客入辽" in incentive_out and "境外游客" in incentive_out and "DL" in incentive_out
    findings_out = invoke("findings", "--month", "2026-03").stdout
    assert "出境团队无领队" in findings_out


def test_published_versions_are_read_and_compared_and_a_restatement_records_its_reason(warehouse):
    invoke("indicators", "--month", "2026-03", "--publish")
    warehouse.group("DL", "G9", members=1)  # a late filing by a Dalian agency after publication
    refused = runner.invoke(app, ["indicators", "--month", "2026-03", "--publish"])
    assert refused.exit_code == 2 and "须说明原因" in refused.output
    invoke("indicators", "--month", "2026-03", "--publish", "--reason", "大连补报出境团队")

    v1 = json.loads(invoke("indicators", "--month", "2026-03", "--region", "21", "--version", "1", "--json").stdout)
    v2 = json.loads(invoke("indicators", "--month", "2026-03", "--region", "21", "--version", "2", "--json").stdout)
    assert v1["reason"] is None and v2["reason"] == "大连补报出境团队"
    now = json.loads(invoke("indicators", "--month", "2026-03", "--region", "21", "--json").stdout)
    assert [{k: f[k] for k in ("indicator", "numerator", "value")} for f in now] == [
        {k: f[k] for k in ("indicator", "numerator", "value")} for f in v2["figures"]]
    assert v1["figures"] != v2["figures"]

    changes = json.loads(invoke("indicators", "--month", "2026-03", "--region", "21", "--diff", "1", "2", "--json").stdout)
    assert changes["reason"] == "大连补报出境团队" and changes["changes"]
    first = next(c for c in changes["changes"] if c["indicator"] == 1)
    assert (first["old"]["numerator"], first["new"]["numerator"]) == (1, 2)
    table = invoke("indicators", "--month", "2026-03", "--region", "21", "--diff", "1", "2").stdout
    assert "第1版 → 第2版" in table and "大连补报出境团队" in table
    missing = runner.invoke(app, ["indicators", "--month", "2026-03", "--version", "7"])
    assert missing.exit_code == 1 and "没有已发布的第7版" in missing.output
