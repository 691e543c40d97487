"""The HTTP client against the real sandboxes: budget, token renewal, auth errors, Airflow secrets."""

from __future__ import annotations

import dataclasses
import json

import pytest

from connectors import erp
from connectors.conformance import differences, extract
from connectors.http.errors import BudgetExceeded
from connectors.registry import resolve_secret


def test_the_request_budget_stops_a_sync_before_the_vendor_blocks_it(sandbox_signed_json, tourlink_home):
    box = sandbox_signed_json
    source = dataclasses.replace(box.source, options={**box.source.options, "request_budget": 3})
    with pytest.raises(BudgetExceeded, match="budget of 3"):
        extract(source)
    assert len(box.sandbox.requests) == 3


def test_an_oauth_token_is_renewed_before_it_expires(sandbox_oauth_cursor, tourlink_home):
    box = sandbox_oauth_cursor
    box.sandbox.token_lifetime = 1  # renewed at half its life at the latest
    box.sandbox.faults.latency_seconds = 0.05  # ~40 requests: the sync outlives several tokens
    assert differences(extract(box.source), box.sandbox.ground_truth()) == []
    assert box.sandbox.tokens_issued >= 3


def test_a_vendor_parameter_error_fails_at_once(sandbox_signed_json, tourlink_home):
    box = sandbox_signed_json
    source = dataclasses.replace(box.source, options={**box.source.options, "page_size": 100})
    client = erp.build_client(source)
    with pytest.raises(erp.ParameterError, match="40010"):
        client.request("GET", "/openapi/v1/teams", params={"pageSize": 500}, check=erp.check_signed_json)
    assert len(box.sandbox.requests) == 1


def test_sources_check_touches_nothing_but_one_page_per_stream(sandbox_legacy_xml, tourlink_home):
    assert erp.check(sandbox_legacy_xml.source) == {"teams": 1}
    assert not (tourlink_home / "warehouse.db").exists()
    assert len(sandbox_legacy_xml.sandbox.requests) == 1


def test_an_airflow_reference_reads_the_airflow_connection_store_inside_a_task(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ERP_ACME", json.dumps({"conn_type": "http", "login": "acme", "password": "s3cr3t-value"}))
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    with pytest.raises(Exception, match="only be resolved inside an Airflow task") as err:
        resolve_secret("airflow:erp_acme")
    assert "s3cr3t-value" not in str(err.value)
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "sync_acme")
    assert resolve_secret("airflow:erp_acme") == "s3cr3t-value"
    assert resolve_secret("airflow:erp_acme.login") == "acme"
