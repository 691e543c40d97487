"""The SSO hand-off: the platform's reverse proxy names the logged-in user in a header.

In production the stewards log in at the platform's SSO (统一身份认证); the proxy in front of the web
view passes the user on in `TOURLINK_SSO_HEADER` (e.g. `X-Remote-User`). That header is believed only
when the request's TCP peer is a configured proxy (`TOURLINK_TRUSTED_PROXIES` and stewards.yaml's
`login.trusted_proxies`, addresses or CIDR networks): anyone else who sends it is refused with 403
and the attempt is audit-logged (`login_failed`, outcome `denied`), never treated as a login.

A believed user is looked up in the stewards file (region and role come from there, never from the
request; an unlisted user is refused the same way). The first request of a user starts an ordinary
server-side session (`tourlink.web.sessions`) and is audit-logged as a `login` with `via: sso`; the
requests after it reuse that session, so the audit log holds one login, not one per page.
"""

from __future__ import annotations

import logging
from http.cookies import SimpleCookie
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tourlink.audit.web import web_event
from tourlink.masking import mask_text
from tourlink.web.sessions import COOKIE, SESSION_SECONDS, LoginGuard
from tourlink.web.stewards import Stewards

log = logging.getLogger("tourlink.web.login")
MAX_USER = 64


class SsoHandOff:
    """ASGI middleware: a request carrying the SSO header is logged in from it, or refused (see above)."""

    def __init__(self, app: ASGIApp, *, header: str, guard: LoginGuard, stewards: Stewards, engine: sa.Engine):
        self.app = app
        self.header = header.lower()
        self.guard = guard
        self.stewards = stewards
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        named = request.headers.get(self.header)
        if named is None:
            await self.app(scope, receive, send)
            return
        user = named.strip()[:MAX_USER]
        peer = request.client.host if request.client else ""
        if not self.guard.trusted(peer):
            await self._refuse(request, scope, receive, send, user, f"{self.header} from {peer}, not a trusted proxy",
                               "身份认证信息只接受来自平台统一认证代理的请求")
            return
        steward = self.stewards.by_username.get(user)
        if steward is None:
            await self._refuse(request, scope, receive, send, user, "not listed in the stewards file",
                               "该用户未在管理员名单中登记，无权访问")
            return
        current = await run_in_threadpool(self.guard.session, request.cookies.get(COOKIE))
        if current is not None and current[0].username == steward.username:
            await self.app(scope, receive, send)
            return
        address = self.guard.client_address(request)
        token = await run_in_threadpool(self.guard.start_session, steward, address)
        await run_in_threadpool(web_event, self.engine, request, steward.username, "login", region=steward.region,
                                role=steward.role, detail={"via": "sso"})
        await self.app(_with_session(scope, request, token), receive, self._setting_cookie(request, token, send))

    def _setting_cookie(self, request: Request, token: str, send: Send) -> Send:
        carrier = Response()
        self.guard.set_cookie(request, carrier, COOKIE, token, SESSION_SECONDS)
        cookies = [(k, v) for k, v in carrier.raw_headers if k == b"set-cookie"]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *cookies]}
            await send(message)

        return sending

    async def _refuse(self, request: Request, scope: Scope, receive: Receive, send: Send, user: str, reason: str,
                      reason_zh: str) -> None:
        await run_in_threadpool(web_event, self.engine, request, user, "login_failed", outcome="denied",
                                detail={"via": "sso", "reason": reason})
        log.warning("sso hand-off refused: user %r: %s", mask_text(user), reason)
        response: Any
        if "text/html" in request.headers.get("accept", ""):
            response = HTMLResponse(f'<!doctype html><meta charset="utf-8"><p id="error">{reason_zh}</p>', status_code=403)
        else:
            response = JSONResponse({"detail": reason_zh}, status_code=403)
        await response(scope, receive, send)


def _with_session(scope: Scope, request: Request, token: str) -> Scope:
    """`scope` whose Cookie header carries the new session (the handlers read the session from it)."""
    jar = SimpleCookie()
    for name, value in request.cookies.items():
        if name != COOKIE:
            jar[name] = value
    jar[COOKIE] = token
    cookie = "; ".join(f"{m.key}={m.value}" for m in jar.values()).encode("latin-1")
    headers = [(k, v) for k, v in scope["headers"] if k != b"cookie"] + [(b"cookie", cookie)]
    return {**scope, "headers": headers}
