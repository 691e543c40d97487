"""The sandboxes speak SOURCES.md strictly: a connector that passes them is not passing by accident."""

from __future__ import annotations

import json
import time

import httpx

from connectors.http.auth import Request, SignedJsonAuth


def _signed(box, **params):
    creds = box.sandbox.credentials
    req = SignedJsonAuth(creds["app_id"], creds["sign_key"]).apply(Request("GET", "/openapi/v1/teams", dict(params)))
    return req.params


def _get(box, params):
    return json.loads(httpx.get(box.sandbox.url + "/openapi/v1/teams", params=params).content)


def test_signed_json_rejects_a_bad_signature_a_reused_nonce_and_clock_skew(sandbox_signed_json):
    box = sandbox_signed_json
    params = _signed(box, pageNo="1", pageSize="10")
    assert _get(box, params)["code"] == 0
    assert _get(box, params)["code"] == 40002  # nonce remembered
    tampered = {**_signed(box, pageNo="1", pageSize="10"), "pageSize": "11"}
    assert _get(box, tampered)["code"] == 40001
    creds = box.sandbox.credentials
    stale = SignedJsonAuth(creds["app_id"], creds["sign_key"], clock=lambda: time.time() - 600).apply(Request("GET", "/x", {})).params
    assert _get(box, stale)["code"] == 40003


def test_oauth_cursor_wants_a_token(sandbox_oauth_cursor):
    url = sandbox_oauth_cursor.sandbox.url
    assert httpx.get(url + "/api/v2/groups").status_code == 401
    creds = sandbox_oauth_cursor.sandbox.credentials
    token = httpx.post(url + "/oauth/token", data={"grant_type": "client_credentials", **creds}).json()
    assert token["expires_in"] == 600
    page = httpx.get(url + "/api/v2/groups", headers={"Authorization": f"Bearer {token['access_token']}"}, params={"limit": 5}).json()
    assert len(page["items"]) == 5 and page["next_cursor"]


def test_legacy_xml_is_gbk_in_a_default_namespace_and_checks_the_token(sandbox_legacy_xml):
    url = sandbox_legacy_xml.sandbox.url
    reply = httpx.get(url + "/export/teams.do", params={"account": "sandbox", "token": "bad", "start": 0, "limit": 5})
    assert reply.content.startswith(b'<?xml version="1.0" encoding="GBK"?>')
    assert "<Code>9001</Code>" in reply.content.decode("gbk")


def test_ground_truth_identifiers_are_valid(any_sandbox):
    from stdnum.cn import ric, uscc

    truth = any_sandbox.sandbox.ground_truth()
    assert all(uscc.is_valid(g["organizer_uscc"]) for g in truth["tour_group"])
    assert all(ric.is_valid(m["doc_no"]) for m in truth["group_member"] if m["doc_type"] == "CN_RIC")
