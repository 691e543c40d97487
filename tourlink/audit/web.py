"""The web view's side of the audit log: one call per request handler, the steward from the session."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.requests import Request

from tourlink.audit.log import Event, record

MAX_NAME = 64  # a failed login logs what was typed as the user name, bounded


def web_event(
    engine: sa.Engine, request: Request, actor: str, action: str, *, region: str | None = None, **fields: Any
) -> None:
    """Log `action` by `actor` from the client's address; `region` is the steward's (None: national)."""
    guard = getattr(request.app.state, "guard", None)  # the peer as the login throttle sees it (trusted proxies)
    origin = guard.client_address(request) if guard else (request.client.host if request.client else None)
    target = fields.pop("target", None) or request.url.path + (f"?{request.url.query}" if request.url.query else "")
    role = fields.pop("role", "steward")
    record(engine, Event(actor=actor[:MAX_NAME], role=role, channel="web", origin=origin, action=action, region=region,
                         target=target, **fields))
