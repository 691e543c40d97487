"""An envelope's codes mean what the declaration says: ok passes, retry is retried, throttle is retried as rate limited, busy as
overloaded (both with fewer requests in flight), auth fails at once as rejected credentials, anything else fails at once; an HTML
page is never read as data."""

from __future__ import annotations

import json

import pytest

from connectors.declarative.answers import checker
from connectors.declarative.spec import spec_of
from connectors.http.errors import AuthError, Overloaded, ParameterError, RateLimited, RetryableError
from connectors.registry import SourceConfig

RULE = {"path": "code", "ok": [0], "retry": [50001], "throttle": [42900], "auth": [40001, 40003], "message": "msg"}


def check(body: dict | bytes, **options):  # noqa: ANN003, ANN201
    source = SourceConfig(name="v", dialect="rest", options={"paths": {"s": "/s"}, "error": RULE, **options})
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return checker(spec_of(source))(raw, "v/s GET /s")


def test_each_declared_code_becomes_its_verdict():
    assert check({"code": 0, "items": []}) == {"code": 0, "items": []}
    with pytest.raises(RateLimited, match="code 42900 请求过于频繁"):  # retried, with fewer in flight
        check({"code": 42900, "msg": "请求过于频繁"})
    with pytest.raises(RetryableError, match="code 50001") as internal:
        check({"code": 50001, "msg": "系统繁忙"})
    assert not isinstance(internal.value, RateLimited), "a vendor's internal error is not a reason to slow down"
    with pytest.raises(AuthError, match="code 40003"):
        check({"code": 40003, "msg": "时间戳超出允许范围"})
    with pytest.raises(ParameterError, match="code 40010"):
        check({"code": 40010, "msg": "参数错误"})
    with pytest.raises(ParameterError, match="no `code` in the envelope"):
        check({"items": []})


def test_a_busy_code_is_retried_as_an_overloaded_vendor():
    """legacy-xml's 9999 系统繁忙 (its preset's `busy`), a JSON:API 503: retried with fewer requests in flight."""
    with pytest.raises(Overloaded, match="code 9999 系统繁忙"):
        check({"code": 9999, "msg": "系统繁忙"}, error={**RULE, "busy": [9999]})
    with pytest.raises(Overloaded, match="503"):
        check({"errors": [{"status": "503", "title": "Service Unavailable"}]}, error="jsonapi")
    with pytest.raises(RetryableError) as failed:
        check({"errors": [{"status": "500", "title": "Internal Server Error"}]}, error="jsonapi")
    assert not isinstance(failed.value, Overloaded | RateLimited), "a vendor's bug is retried at the same pace"


def test_an_html_page_names_its_title_and_is_not_retried():
    with pytest.raises(ParameterError, match=r"HTML page \('登录 - 统一认证'\)"):
        check("<!doctype html><html><head><title>登录 - 统一认证</title></head></html>".encode())


def test_a_truncated_body_is_retried():
    with pytest.raises(RetryableError, match="not complete JSON"):
        check(b'{"code": 0, "items": [{"id"')
