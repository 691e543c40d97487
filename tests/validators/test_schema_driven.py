"""Rules come from the schemas: a field added to a schema YAML is validated without a validator edit."""

from __future__ import annotations

import shutil

import pytest
import yaml

import tourlink.schema as schema
from tests.validators.conftest import TODAY, frame, rules_of, uscc, wrong_check
from validators import validate


@pytest.fixture
def extended_schemas(tmp_path, monkeypatch):
    """The project's schemas plus a new field on key_city (a USCC, required for some years)."""
    target = tmp_path / "schemas"
    shutil.copytree(schema.SCHEMA_DIR, target)
    spec = yaml.safe_load((target / "key_city.yaml").read_text(encoding="utf-8"))
    spec["fields"].append({"name": "operator_uscc", "header": "运营企业代码", "type": "str", "norm": "code",
                           "required": "C", "required_when": {"field": "year", "in": [2026]}, "rules": ["USCC_CHECKSUM"]})
    (target / "key_city.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(schema, "SCHEMA_DIR", target)
    schema.entities.cache_clear()
    yield
    schema.entities.cache_clear()


def test_a_new_schema_field_gets_its_declared_rules(extended_schemas):
    rows = [dict(year=2026, city_code="2101", operator_uscc=uscc()),
            dict(year=2026, city_code="2102", operator_uscc=wrong_check(uscc())),
            dict(year=2026, city_code="2103"),
            dict(year=2025, city_code="2104")]
    df = validate("key_city", frame("key_city", rows), today=TODAY)
    assert [rules_of(df, i) for i in range(4)] == [
        set(), {("USCC_CHECKSUM", "operator_uscc")}, {("REQUIRED", "operator_uscc")}, set()]


def test_a_new_schema_field_appears_in_the_gx_suite(extended_schemas):
    from validators.expectations import suite_for

    suite = suite_for("key_city", today=TODAY)
    assert {(e.meta["rule"], e.meta["field"]) for e in suite.expectations} >= {
        ("REQUIRED", "operator_uscc"), ("USCC_CHECKSUM", "operator_uscc"), ("CITY_CODE", "city_code")}


def test_a_new_schema_field_appears_in_the_field_reference_and_the_cli_writes_it(extended_schemas, tmp_path):
    from typer.testing import CliRunner

    from tourlink.cli import app

    reference = schema.reference_markdown()
    assert "| `operator_uscc` | 运营企业代码 | str | 条件必填: `year` ∈ 2026 | `USCC_CHECKSUM` |  |" in reference
    assert "| `doc_no` | 证件号码（证件号、身份证号、证件编号） | str, PII | 必填 | `DOCUMENT` |  |" in reference
    assert "`OUTBOUND` 出境; `DOMESTIC` 国内; `INBOUND` 入境" in reference  # group_type's code list
    assert [line for line in reference.splitlines() if line.startswith("## ")] == [
        f"## `{e.name}` {e.label}" for e in schema.entities().values()]
    out = tmp_path / "docs" / "schemas.md"
    result = CliRunner().invoke(app, ["schema-docs", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == reference + "\n"
