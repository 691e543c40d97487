"""The SSO hand-off (tourlink.web.sso): the identity header is believed only from a trusted proxy, the
user's region comes from the stewards file, and both the login and every refusal are audit-logged.

A real uvicorn server on loopback; the test client's address (127.0.0.1) is the "proxy" when
TOURLINK_TRUSTED_PROXIES covers it, and an outsider when it does not. Chromium sends the header as a
proxy would add it to every request.
"""

from __future__ import annotations

import httpx
import pytest

from tests.web.conftest import serve, stewards_spec
from tourlink.audit.log import query

HEADER = "X-Remote-User"


@pytest.fixture
def engine(sample_engine):
    return sample_engine


def _sso(monkeypatch, proxies: str) -> None:
    monkeypatch.setenv("TOURLINK_SSO_HEADER", HEADER)
    monkeypatch.setenv("TOURLINK_TRUSTED_PROXIES", proxies)


def test_a_user_named_by_a_trusted_proxy_is_logged_in_once_with_the_region_of_the_stewards_file(engine, monkeypatch):
    _sso(monkeypatch, "10.0.0.0/8, 127.0.0.0/8")
    spec = stewards_spec()
    del spec["stewards"]["shenyang"]["password"]  # behind SSO a steward needs no password of ours
    with serve(engine, spec) as url, httpx.Client(base_url=url, headers={HEADER: "shenyang"}) as client:
        page = client.get("/", headers={"accept": "text/html"})
        assert page.status_code == 200 and "沈阳市管理员" in page.text and "地区 2101" in page.text
        entries = client.get("/api/entries").json()  # the session cookie carries on; the region is the file's
        assert entries and {e["division_code"][:4] for e in entries} == {"2101"}
        assert {e["division_code"][:4] for e in client.get("/api/entries", headers={HEADER: "dalian"}).json()} == {"2102"}
    logins = query(engine, action="login")
    assert [(e["actor"], e["region"], e["origin"], e["outcome"]) for e in logins] == [
        ("shenyang", "2101", "127.0.0.1", "ok"), ("dalian", "2102", "127.0.0.1", "ok")
    ]
    assert logins[0]["detail"] == {"via": "sso"}
    assert [e["actor"] for e in query(engine, action="view_page")] == ["shenyang"]


def test_the_header_from_an_address_that_is_not_a_trusted_proxy_is_refused_and_audited(engine, monkeypatch):
    _sso(monkeypatch, "10.0.0.5")  # the proxy lives elsewhere: 127.0.0.1 is an outsider
    with serve(engine, stewards_spec()) as url, httpx.Client(base_url=url) as client:
        forged = client.get("/api/entries", headers={HEADER: "liaoning", "X-Forwarded-For": "10.0.0.5"})
        assert forged.status_code == 403 and "统一认证代理" in forged.json()["detail"]
        assert client.get("/api/entries").status_code == 401  # without the header: the ordinary login applies
    (refused,) = query(engine, action="login_failed")
    assert (refused["actor"], refused["outcome"], refused["origin"]) == ("liaoning", "denied", "127.0.0.1")
    assert "not a trusted proxy" in refused["detail"]["reason"]
    assert query(engine, action="login") == [] and query(engine, action="view_entries") == []


def test_a_trusted_proxy_naming_a_user_the_stewards_file_does_not_list_is_refused(engine, monkeypatch):
    _sso(monkeypatch, "127.0.0.1")
    with serve(engine, stewards_spec()) as url, httpx.Client(base_url=url, headers={HEADER: "mallory"}) as client:
        assert client.get("/api/entries").status_code == 403
    (refused,) = query(engine, action="login_failed")
    assert refused["actor"] == "mallory" and "not listed" in refused["detail"]["reason"]


def test_a_browser_behind_the_proxy_sees_its_region_without_a_login_form(engine, monkeypatch, browser):
    _sso(monkeypatch, "127.0.0.1/32")
    with serve(engine, stewards_spec()) as url:
        browser.send("Network.enable")
        browser.send("Network.setExtraHTTPHeaders", headers={HEADER: "dalian"})
        browser.goto(url + "/")
        assert browser.texts("#steward") == ["大连市管理员"] and browser.texts("#region") == ["地区 2102"]
    assert [e["actor"] for e in query(engine, action="login")] == ["dalian"]
