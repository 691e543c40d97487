"""Login security of the web view (tourlink.web.sessions): a flood is locked and logged, a logged-out
cookie is refused, the login form needs its CSRF token, cookies are Secure behind TLS.

The browser tests drive the real headless Chromium; the header-level checks use httpx on the same
real uvicorn server.
"""

from __future__ import annotations

import logging

import httpx
import sqlalchemy as sa

from tests.report import quarantine_sample as qs
from tests.web.conftest import PASSWORDS, login_csrf, serve, stewards_spec

LOGGER = "tourlink.web.login"


def _browser_login(browser, url: str, username: str, password: str) -> None:
    browser.goto(url + "/login")
    browser.fill("input[name=username]", username)
    browser.fill("input[name=password]", password)
    browser.submit("#login")


def _cookies(browser) -> dict[str, dict]:
    return {c["name"]: c for c in browser.send("Network.getCookies")["cookies"]}


def _http_login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post("/login", data={"username": username, "password": password, "csrf": login_csrf(client)})


def test_a_login_flood_is_locked_and_logged_in_a_browser(web_view, browser, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    for _ in range(5):
        _browser_login(browser, web_view.url, "shenyang", "guess")
        assert browser.texts("#login-error") == ["用户名或密码错误"]
    # the sixth attempt, even with the right password, is refused without a session
    _browser_login(browser, web_view.url, "shenyang", PASSWORDS["shenyang"])
    assert browser.eval("location.pathname") == "/login"
    assert browser.texts("#login-error") == ["登录失败次数过多，请 15 分钟后再试"]
    assert "tourlink_steward" not in _cookies(browser)
    failed = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.getMessage().startswith("login failed")]
    locked = [r.getMessage() for r in caplog.records if r.name == LOGGER and "locked" in r.getMessage()]
    assert len(failed) == 5 and all("'shenyang' from 127.0.0.1" in m for m in failed)
    assert len(locked) == 1 and "5 failures for the user" in locked[0]
    # another steward on the same address is not locked by shenyang's failures
    _browser_login(browser, web_view.url, "dalian", PASSWORDS["dalian"])
    assert browser.eval("location.pathname") == "/"


def test_the_login_log_masks_an_id_number_typed_as_the_user_name(web_view, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    with httpx.Client(base_url=web_view.url) as client:
        assert _http_login(client, qs.FULL_ID, "x").status_code == 401
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == LOGGER)
    assert qs.FULL_ID not in logged and "2101**********123X" in logged


def test_one_address_trying_many_users_is_locked_and_a_forged_forwarded_for_does_not_help(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with serve(engine, stewards_spec(login={"address_limit": 3})) as url, httpx.Client(base_url=url) as client:
        statuses = [
            client.post("/login", data={"username": f"user{i}", "password": "x", "csrf": login_csrf(client)},
                        headers={"X-Forwarded-For": f"10.9.9.{i}"}).status_code
            for i in range(4)
        ]
        assert statuses == [401, 401, 401, 429]  # loopback is no trusted proxy: all four are 127.0.0.1
        assert _http_login(client, "dalian", PASSWORDS["dalian"]).status_code == 429
    with serve(engine, stewards_spec(login={"address_limit": 3, "trusted_proxies": ["127.0.0.1"]})) as url, \
            httpx.Client(base_url=url) as client:
        r = client.post("/login", data={"username": "dalian", "password": PASSWORDS["dalian"], "csrf": login_csrf(client)},
                        headers={"X-Forwarded-For": "10.1.1.1"})
        assert r.status_code == 303  # behind a trusted proxy the client's own address counts


def test_a_cookie_replayed_after_logout_is_refused(web_view, browser):
    _browser_login(browser, web_view.url, "shenyang", PASSWORDS["shenyang"])
    assert browser.eval("location.pathname") == "/"
    cookie = _cookies(browser)["tourlink_steward"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    with httpx.Client(base_url=web_view.url, cookies={"tourlink_steward": cookie["value"]}) as thief:
        assert thief.get("/api/entries").status_code == 200

        browser.submit("#logout")
        assert browser.eval("location.pathname") == "/login"
        assert thief.get("/api/entries").status_code == 401
    # the same cookie put back into the browser does not log it in again
    browser.send("Network.setCookie", name="tourlink_steward", value=cookie["value"], domain="127.0.0.1", path="/", httpOnly=True)
    browser.goto(web_view.url + "/")
    assert browser.eval("location.pathname") == "/login"
    with web_view.engine.connect() as conn:
        assert conn.execute(sa.text("select end_reason from web_session")).scalars().all() == ["logout"]


def test_a_password_change_ends_the_stewards_sessions(sample_engine):
    engine = sample_engine
    with serve(engine, stewards_spec()) as url:
        with httpx.Client(base_url=url) as a, httpx.Client(base_url=url) as b:
            assert _http_login(a, "shenyang", PASSWORDS["shenyang"]).status_code == 303
            assert _http_login(b, "dalian", PASSWORDS["dalian"]).status_code == 303
            old = {"shenyang": a.cookies["tourlink_steward"], "dalian": b.cookies["tourlink_steward"]}
    changed = {**PASSWORDS, "shenyang": "a-new-password"}
    with serve(engine, stewards_spec(passwords=changed)) as url:  # stewards.yaml edited, the view restarted
        with httpx.Client(base_url=url, cookies={"tourlink_steward": old["shenyang"]}) as a:
            assert a.get("/api/entries").status_code == 401
        with httpx.Client(base_url=url, cookies={"tourlink_steward": old["dalian"]}) as b:
            assert b.get("/api/entries").status_code == 200
    with engine.connect() as conn:
        ended = conn.execute(sa.text("select username, end_reason from web_session where ended_at is not null")).all()
    assert [tuple(r) for r in ended] == [("shenyang", "password_changed")]


def test_the_login_form_needs_its_csrf_token_in_a_browser(web_view, browser):
    browser.goto(web_view.url + "/login")
    browser.eval("document.querySelector('#login input[name=csrf]').value = 'forged'")
    browser.fill("input[name=username]", "shenyang")
    browser.fill("input[name=password]", PASSWORDS["shenyang"])
    browser.submit("#login")
    assert browser.eval("location.pathname") == "/login"
    assert browser.texts("#login-error") == ["登录页面已过期，请重新输入"]
    assert "tourlink_steward" not in _cookies(browser)
    with httpx.Client(base_url=web_view.url) as client:
        bare = client.post("/login", data={"username": "shenyang", "password": PASSWORDS["shenyang"]})
        assert bare.status_code == 403 and "tourlink_steward" not in bare.cookies
        # a token from another visitor's form does not match this visitor's cookie
        other = httpx.Client(base_url=web_view.url)
        token = login_csrf(other)
        other.close()
        client.get("/login")
        crossed = client.post("/login", data={"username": "shenyang", "password": PASSWORDS["shenyang"], "csrf": token})
        assert crossed.status_code == 403


def test_logout_without_the_csrf_token_does_not_end_the_session(web_view):
    with httpx.Client(base_url=web_view.url) as client:
        assert _http_login(client, "dalian", PASSWORDS["dalian"]).status_code == 303
        assert client.post("/logout").status_code == 403
        assert client.get("/api/entries").status_code == 200


def _session_cookie_header(url: str, headers: dict[str, str]) -> str:
    with httpx.Client(base_url=url) as client:
        csrf = login_csrf(client)
        r = client.post("/login", data={"username": "dalian", "password": PASSWORDS["dalian"], "csrf": csrf}, headers=headers)
        assert r.status_code == 303
        return next(v for v in r.headers.get_list("set-cookie") if v.startswith("tourlink_steward="))


def test_cookies_are_secure_when_a_trusted_proxy_says_tls_and_only_then(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    tls = {"X-Forwarded-Proto": "https"}
    with serve(engine, stewards_spec()) as url:
        assert "secure" not in _session_cookie_header(url, {}).lower()
        assert "secure" not in _session_cookie_header(url, tls).lower()  # loopback is no trusted proxy
    with serve(engine, stewards_spec(login={"trusted_proxies": ["127.0.0.0/8"]})) as url:
        header = _session_cookie_header(url, tls).lower()
        assert "secure" in header and "httponly" in header and "samesite=strict" in header
        assert "secure" not in _session_cookie_header(url, {}).lower()
    with serve(engine, stewards_spec(login={"cookie_secure": "always"})) as url:  # even the login form's cookie
        assert "secure" in httpx.get(url + "/login").headers["set-cookie"].lower()
