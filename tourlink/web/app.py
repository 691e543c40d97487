"""The stewards' web view: browse the open failures of one's region, filter, download, waive.

Why a standalone FastAPI app (served by uvicorn on 127.0.0.1) rather than an Airflow 3 plugin:
- stewards are not Airflow users: an Airflow login would hand them DAGs, logs and connections, and
  Airflow's auth managers have no notion of a region, which is the one permission this view needs
  (统一平台，分级管理);
- it must run where Airflow does not (the CLI-only deployment of `make demo`, a province's own
  server) and start in a second for tests in a real browser;
- it reads the same warehouse and the same report code (`tourlink.report`), so the page, the xlsx and
  the daily report cannot disagree. In production it sits behind the platform's SSO reverse proxy.

Security: loopback by default; scrypt password hashes; server-side sessions, a login throttle and
lockout, a CSRF token on the login form and Secure/HttpOnly/SameSite=Strict cookies
(`tourlink.web.sessions`); a per-session CSRF token on every POST; every entry id a steward
sends is checked against the steward's region in SQL (another region's entry: HTTP 403); the region
comes from the session, never from the request.
"""

from __future__ import annotations

import secrets
import tempfile
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import Markup, escape

from tourlink import settings
from tourlink.audit.web import web_event
from tourlink.report.failures import Failure, Scope, load_report
from tourlink.report.fix_template import collect_rows, write_fix_template
from tourlink.report.html import render_html
from tourlink.report.stewardship import (
    EntryError,
    EntryNotFound,
    NotOpen,
    OutsideRegion,
    check_region,
    history,
    list_entries,
    waive,
)
from tourlink.report.workbook import write_workbook
from tourlink.web.sessions import COOKIE, LOGIN_COOKIE, SESSION_SECONDS, LoginGuard, LoginPolicy
from tourlink.web.sso import SsoHandOff
from tourlink.web.stewards import Steward, Stewards

FILTERS = ("agency", "rule", "source", "date")

LOGIN_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>数据管理员登录</title>
<style>body{{font-family:sans-serif;margin:4em auto;max-width:22em}}label{{display:block;margin:.6em 0}}
input{{width:100%;padding:.3em}}.error{{color:#b00}}</style></head><body>
<h1>旅游监管数据 · 管理员登录</h1>{error}
<form id="login" method="post" action="/login"><input type="hidden" name="csrf" value="{csrf}">
<label>用户名 <input name="username" autocomplete="username" required></label>
<label>密码 <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">登录</button></form>
<p style="color:#777;font-size:.85em">正式环境通过平台统一身份认证登录。</p></body></html>"""


def current_steward(request: Request) -> tuple[Steward, str]:
    """The logged-in steward and the session's CSRF token; HTML pages redirect to the login form."""
    found = request.app.state.guard.session(request.cookies.get(COOKIE))
    if found is None:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            raise HTTPException(status_code=303, headers={"Location": "/login"})
        raise HTTPException(status_code=401, detail="请先登录")
    return found


Current = Annotated[tuple[Steward, str], Depends(current_steward)]


def create_app(*, engine: sa.Engine, stewards: Stewards) -> FastAPI:
    app = FastAPI(title="tourlink stewards", docs_url=None, redoc_url=None, openapi_url=None)
    login = {**stewards.login, "trusted_proxies": [*(stewards.login.get("trusted_proxies") or ()), *settings.trusted_proxies()]}
    guard = LoginGuard(engine, stewards, LoginPolicy.from_spec(login))
    app.state.guard = guard
    app.state.stewards = stewards
    if settings.sso_header():  # the platform's SSO proxy names the user (trusted from its address only)
        app.add_middleware(SsoHandOff, header=settings.sso_header(), guard=guard, stewards=stewards, engine=engine)

    def scope_of(steward: Steward, params: dict[str, str]) -> Scope:
        try:
            day = date.fromisoformat(params["date"]) if params.get("date") else None
        except ValueError:
            raise HTTPException(status_code=400, detail="日期格式应为 YYYY-MM-DD") from None
        return Scope(
            region=steward.region,  # from the session only
            day=day,
            agency=params.get("agency") or None,
            rule=params.get("rule") or None,
            source=params.get("source") or None,
        )

    def filters(request: Request) -> dict[str, str]:
        return {k: request.query_params[k] for k in FILTERS if request.query_params.get(k)}

    def login_page(request: Request, error: str = "", status_code: int = 200) -> Response:
        nonce, csrf = guard.new_login_form()
        message = Markup('<p class="error" id="login-error">{}</p>').format(error) if error else ""
        response = HTMLResponse(LOGIN_PAGE.format(error=message, csrf=csrf), status_code=status_code)
        guard.set_login_cookie(request, response, nonce)
        return response

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        return login_page(request)

    @app.post("/login")
    def login(
        request: Request,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        if not guard.login_form_valid(request, csrf):
            return login_page(request, "登录页面已过期，请重新输入", status_code=403)
        address = guard.client_address(request)
        if guard.locked(username, address):
            minutes = max(1, guard.policy.window // 60)
            return login_page(request, f"登录失败次数过多，请 {minutes} 分钟后再试", status_code=429)
        steward = stewards.authenticate(username, password)
        web_event(engine, request, steward.username if steward else username, "login" if steward else "login_failed",
                  region=steward.region if steward else None, outcome="ok" if steward else "denied")
        if steward is None:
            guard.record_failure(username, address)
            return login_page(request, "用户名或密码错误", status_code=401)
        response = RedirectResponse("/", status_code=303)
        guard.set_cookie(request, response, COOKIE, guard.start_session(steward, address), SESSION_SECONDS)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.post("/logout")
    def logout(request: Request, current: Current, csrf: Annotated[str, Form()] = "") -> Response:
        steward, token = current
        if not secrets.compare_digest(csrf, token):
            raise HTTPException(status_code=403, detail="页面已过期，请刷新后重试")
        guard.end_session(request.cookies.get(COOKIE))
        web_event(engine, request, steward.username, "logout", region=steward.region)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/", response_class=HTMLResponse)
    def failures_page(request: Request, current: Current) -> str:
        steward, csrf = current
        params = filters(request)
        with engine.connect() as conn:
            report = load_report(conn, scope_of(steward, params))
        web_event(engine, request, steward.username, "view_page", region=steward.region, rows=report.entry_count)
        query = urlencode(params)

        def actions(f: Failure) -> Markup:
            return Markup(
                '<form class="waive" method="post" action="/entries/{id}/waive">'
                '<input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="back" value="{back}">'
                '<input name="reason" required placeholder="豁免原因" size="10"> <button type="submit">豁免</button></form>'
            ).format(id=f.quarantine_id, csrf=csrf, back="/?" + query if query else "/")

        fix = Markup("")
        if params.get("agency"):
            fix = Markup('<a id="fix-template" style="color:#fff" href="/agencies/{a}/fix.xlsx">下载该旅行社更正模板</a>').format(
                a=quote(params["agency"], safe="")
            )
        banner = Markup(
            '<nav id="steward-bar" style="display:flex;gap:1.5em;align-items:center;background:#17324d;color:#fff;padding:.5em 1em">'
            '<span id="steward">{name}</span><span id="region">{region}</span>'
            '<a id="download" style="color:#fff" href="/failures.xlsx{q}">下载 xlsx</a>{fix}'
            '<form id="logout" method="post" action="/logout" style="margin:0"><input type="hidden" name="csrf" value="{csrf}">'
            '<button type="submit">退出</button></form></nav>'
        ).format(csrf=csrf, name=steward.name, region=steward.region_zh, q=("?" + query) if query else "", fix=fix)
        page = render_html(report, actions=actions)
        return page.replace("<body>", "<body>" + str(banner), 1)

    @app.get("/failures.xlsx")
    def failures_xlsx(request: Request, current: Current) -> Response:
        steward, _ = current
        scope = scope_of(steward, filters(request))
        with engine.connect() as conn:
            report = load_report(conn, scope)
        buffer = BytesIO()
        write_workbook(report, buffer)
        name = f"failures-{scope.region or 'all'}.xlsx"
        web_event(engine, request, steward.username, "download", region=steward.region, rows=report.entry_count)
        return Response(
            buffer.getvalue(),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
        )

    @app.get("/agencies/{uscc}/fix.xlsx")
    def fix_template(request: Request, uscc: str, current: Current) -> Response:
        """The agency's open failures as its correction workbook (unmasked: for that agency only);
        only entries in the steward's region, so another region's agency gets 404, never its rows."""
        steward, _ = current
        agency = uscc.strip().upper()
        with engine.connect() as conn:
            rows = collect_rows(conn, agency, region=steward.region)
        if not rows:
            web_event(engine, request, steward.username, "export", region=steward.region, rows=0, outcome="failed")
            raise HTTPException(status_code=404, detail="该旅行社在您管辖的地区没有待处理的记录")
        with tempfile.TemporaryDirectory(prefix="tourlink-fix-") as tmp:
            target = Path(tmp) / "fix.xlsx"
            n = write_fix_template(rows, agency, target)
            body = target.read_bytes()
        web_event(engine, request, steward.username, "export", region=steward.region, rows=n, unmasked=True)
        return Response(
            body,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(f'更正模板-{agency}.xlsx')}"},
        )

    @app.get("/api/entries")
    def entries(request: Request, current: Current) -> list[dict[str, Any]]:
        steward, _ = current
        status = request.query_params.get("status") or "open"
        params = filters(request)
        scope = scope_of(steward, params)
        try:
            scope = Scope(region=scope.region, day=scope.day, agency=scope.agency, rule=scope.rule, source=scope.source,
                          statuses=tuple(status.split(",")) if status != "all" else ("open", "resolved", "waived", "superseded"))
        except ValueError:
            raise HTTPException(status_code=400, detail="状态应为 open、resolved、waived 或 all") from None
        with engine.connect() as conn:
            found = list_entries(conn, scope)
        web_event(engine, request, steward.username, "view_entries", region=steward.region, rows=len(found))
        return found

    @app.get("/api/entries/{entry_id}")
    def entry(request: Request, entry_id: int, current: Current) -> dict[str, Any]:
        """One entry of the steward's region with its status history (open → resolved | waived)."""
        steward, _ = current
        with engine.connect() as conn:
            _guard(conn, entry_id, steward)
            found = [e for e in list_entries(conn, Scope(region=steward.region, statuses=("open", "resolved", "waived", "superseded"))) if e["id"] == entry_id]
            found[0]["history"] = [
                {"at": h["at"].isoformat(), "status": h["status"], "actor": h["actor"], "reason": h["reason"], "batch_id": h["batch_id"]}
                for h in history(conn, entry_id)
            ]
        web_event(engine, request, steward.username, "view_entry", region=steward.region, rows=1)
        return found[0]

    @app.post("/entries/{entry_id}/waive")
    def waive_entry(
        request: Request,
        entry_id: int,
        current: Current,
        reason: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
        back: Annotated[str, Form()] = "/",
    ) -> Response:
        steward, token = current
        if not secrets.compare_digest(csrf, token):
            raise HTTPException(status_code=403, detail="页面已过期，请刷新后重试")
        try:
            with engine.begin() as conn:
                _guard(conn, entry_id, steward)
                waive(conn, entry_id, reason, actor=steward.username, region=steward.region)
        except NotOpen as exc:
            raise HTTPException(status_code=409, detail=exc.reason_zh) from exc
        except EntryError as exc:
            raise HTTPException(status_code=400, detail=exc.reason_zh) from exc
        web_event(engine, request, steward.username, "waive", region=steward.region, target=f"#{entry_id}", rows=1,
                  detail={"reason": reason})
        return RedirectResponse(back if back.startswith("/") and not back.startswith("//") else "/", status_code=303)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 303:
            return RedirectResponse(exc.headers["Location"], status_code=303)
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(
                f'<!doctype html><meta charset="utf-8"><p id="error">{escape(exc.detail)}</p><p><a href="/">返回</a></p>',
                status_code=exc.status_code,
            )
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    return app


def _guard(conn: sa.Connection, entry_id: int, steward: Steward) -> None:
    """404 for an unknown entry, 403 for another region's."""
    try:
        check_region(conn, entry_id, steward.region)
    except EntryNotFound as exc:
        raise HTTPException(status_code=404, detail=exc.reason_zh) from exc
    except OutsideRegion as exc:
        raise HTTPException(status_code=403, detail=exc.reason_zh) from exc
