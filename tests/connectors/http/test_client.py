"""The HTTP client against the real sandboxes: budget, token renewal, auth errors, Airflow secrets."""

from __future__ import annotations

import dataclasses
import json

import pytest

from connectors import erp
from connectors.http.errors import BudgetExceeded
from connectors.registry import resolve_secret
from devkit.conformance import differences, extract


def test_the_request_budget_stops_a_sync_before_the_vendor_blocks_it(sandbox_signed_json, tourlink_home):
    box = sandbox_signed_json
    source = dataclasses.replace(box.source, options={**box.source.options, "request_budget": 3})
    with pytest.raises(BudgetExceeded, match="budget of 3"):
        extract(source)
    assert len(box.sandbox.requests) == 3


def test_an_oauth_token_is_renewed_before_it_expires(sandbox_oauth_cursor, tourlink_home):
    box = sandbox_oauth_cursor
    box.sandbox.token_lifetime = 1  # renewed at half its life at the latest
    box.sandbox.faults.latency_seconds = 0.2  # ~40 requests, 4 in flight: the sync outlives several tokens
    assert differences(extract(box.source), box.sandbox.ground_truth()) == []
    assert box.sandbox.tokens_issued >= 3


def test_tokens_spent_by_other_requests_in_flight_do_not_exhaust_the_renewals(sandbox_oauth_cursor, tourlink_home):
    # Every token serves one request: with members fetched several at a time, a request often finds
    # the token it carried already renewed by another; that retry is no sign of rejected credentials.
    box = sandbox_oauth_cursor
    box.sandbox.faults.expire_token_after = 1
    source = dataclasses.replace(box.source, options={**box.source.options, "max_concurrency": 4})
    assert differences(extract(source), box.sandbox.ground_truth()) == []
    assert box.sandbox.tokens_issued > 10


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


def test_backoff_is_exponential_capped_and_jittered_and_retry_after_is_obeyed_within_a_cap():
    import random

    from connectors.http.retry import RetryPolicy

    policy = RetryPolicy(base_seconds=0.2, cap_seconds=2.0, max_retry_after=60.0, rng=random.Random(7))
    for attempt in range(8):
        ceiling = min(2.0, 0.2 * 2**attempt)
        waits = {policy.delay(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits) and len(waits) > 1, (attempt, waits)
    assert policy.delay(0, retry_after=5) == 5.0
    assert policy.delay(0, retry_after=3600) == 60.0


def test_basic_auth_sends_the_header_and_its_secrets_are_scrubbed_from_messages():
    import base64

    from connectors.http.auth import BasicAuth, Request
    from connectors.http.client import HttpClient

    auth = BasicAuth("acme", "pa55-word-value")
    request = auth.apply(Request("GET", "/x"))
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"acme:pa55-word-value").decode()
    with HttpClient("http://127.0.0.1:9", auth) as client:
        text = client.scrub(f"failed with {request.headers['Authorization']} and pa55-word-value")
    assert "pa55-word-value" not in text and base64.b64encode(b"acme:pa55-word-value").decode() not in text


def test_a_vendor_that_never_answers_in_time_is_retried_then_fails_loudly(sandbox_signed_json, tourlink_home):
    from connectors.http.errors import SourceError

    box = sandbox_signed_json
    box.sandbox.faults.latency_seconds = 1.0
    source = dataclasses.replace(box.source, options={**box.source.options, "timeout_seconds": 0.2, "max_attempts": 3})
    with pytest.raises(SourceError, match="timed out.*gave up after 3 attempts"):
        extract(source)
    assert len([r for r in box.sandbox.requests if r.endswith("/teams")]) == 3
