"""Secrets come from the environment only and never reach logs or error messages; XML is parsed
without entities, DTDs or network."""

from __future__ import annotations

import logging

import pytest

from connectors import erp
from connectors.http.auth import legacy_xml_token, signed_json_signature
from connectors.http.decoding import iter_xml
from connectors.http.errors import BodyRefused
from connectors.registry import RegistryError, SecretError, load_sources, resolve_secret
from devkit.conformance import extract


def test_the_signature_follows_sources_md():
    import hashlib
    import hmac

    params = {"appId": "a", "timestamp": "1700000000000", "nonce": "n" * 16, "pageNo": "1"}
    canonical = "appId=a&nonce=" + "n" * 16 + "&pageNo=1&timestamp=1700000000000&body=" + hashlib.sha256(b"").hexdigest()
    assert signed_json_signature("k", params) == hmac.new(b"k", canonical.encode(), hashlib.sha256).hexdigest().upper()


def test_the_day_token_uses_shanghai_date():
    from datetime import UTC, datetime

    late_utc = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # already 23 Nov in Shanghai
    assert legacy_xml_token("acc", "pw", late_utc) == __import__("hashlib").md5(b"accpw20261123").hexdigest()


def test_a_missing_secret_names_the_variable(monkeypatch):
    monkeypatch.delenv("NO_SUCH_SIGN_KEY", raising=False)
    with pytest.raises(SecretError, match="NO_SUCH_SIGN_KEY"):
        resolve_secret("env:NO_SUCH_SIGN_KEY")


def test_a_registry_file_holding_a_secret_value_is_refused_without_echoing_it(tmp_path):
    (tmp_path / "x.yaml").write_text("dialect: signed-json\ncredentials: {sign_key: hunter2-secret}\n")
    with pytest.raises(RegistryError) as err:
        load_sources(tmp_path)
    assert "hunter2-secret" not in str(err.value)


def test_rejected_credentials_fail_at_once_without_leaking_the_secret(sandbox_signed_json, monkeypatch, caplog, tourlink_home):
    box = sandbox_signed_json
    real_key = box.sandbox.credentials["sign_key"]
    wrong = "WRONG-" + real_key
    monkeypatch.setenv("SANDBOX_SIGNED_JSON_SIGN_KEY", wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(erp.AuthError) as err:
        extract(box.source)
    assert "40001" in str(err.value)
    assert len([r for r in box.sandbox.requests if "teams" in r]) == 1  # no retry of an auth error
    for text in (str(err.value), caplog.text):
        assert wrong not in text and real_key not in text


def test_secrets_never_appear_in_logs_of_a_faulty_sync(any_sandbox, caplog, tourlink_home):
    box = any_sandbox
    box.sandbox.faults.http_5xx = 2
    box.sandbox.faults.truncate = 1
    caplog.set_level(logging.DEBUG)
    extract(box.source)
    assert "retry" in caplog.text
    creds = box.sandbox.credentials
    secrets = [creds[k] for k in ("sign_key", "client_secret", "password") if k in creds]
    if "password" in creds:
        secrets.append(legacy_xml_token(creds["account"], creds["password"]))
    secrets += list(getattr(box.sandbox, "tokens", {}))  # the OAuth access tokens issued during the sync
    assert secrets
    for secret in secrets:
        assert secret not in caplog.text


def test_xml_entities_are_not_expanded_and_nothing_is_fetched():
    body = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "AAAAAAAAAA"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY x SYSTEM "file:///etc/passwd">]><Response><Head><Code>0000</Code></Head>'
            b"<Body><Team><TDH>&b;</TDH><XM>&x;</XM></Team></Body></Response>")
    with pytest.raises(BodyRefused, match="entity reference &b;: entities are not accepted") as refused:
        list(iter_xml(body, "Team"))
    assert "AAAAAAAAAA" not in str(refused.value) and "root:" not in str(refused.value)


def test_gbk_xml_in_a_default_namespace_decodes():
    body = '<?xml version="1.0" encoding="GBK"?><Response xmlns="http://erp.example.cn/export/teams"><Head><Code>0000</Code><Total>1</Total></Head><Body><Team><XM>张伟</XM><Guests><Guest><XH>1</XH></Guest></Guests></Team></Body></Response>'.encode("gbk")
    items = list(iter_xml(body, "Team", list_tags=frozenset({"Guests"})))
    assert items == [("head", {"Code": "0000", "Total": "1"}), ("record", {"XM": "张伟", "Guests": [{"XH": "1"}]})]


def test_xml_nested_1500_deep_is_refused_not_a_recursion_error_even_with_huge_tree():
    body = (b'<?xml version="1.0"?><Response><Head><Code>0000</Code></Head><Body><Team><TDH>' + b"<a>" * 1500 + b"x"
            + b"</a>" * 1500 + b"</TDH></Team></Body></Response>")
    with pytest.raises(BodyRefused, match="v: XML body malformed .a record nested over 256 deep"):
        list(iter_xml(body, "Team", what="v"))
