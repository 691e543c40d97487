"""Sandbox of the `oauth-cursor` SaaS ERP (SOURCES.md §2): client-credentials tokens that expire,
keyset cursors, members as a dependent resource, 10 requests/second, tombstones for deleted groups."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from devkit.sandbox.seed import _second
from devkit.sandbox.server import Reply, Sandbox
from devkit.sandbox.wire import COUNTRY_A2, OAUTH_CURSOR, SHANGHAI


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload, ensure_ascii=False).encode(), headers=headers)


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(SHANGHAI).isoformat()


def member_record(m: dict[str, Any]) -> dict[str, Any]:
    return {"seq": m["seq_no"], "full_name": m["name"], "name_en": m["name_pinyin"], "gender": OAUTH_CURSOR["gender"][m["gender"]],
            "dob": m["birth_date"].isoformat(), "document": {"type": OAUTH_CURSOR["document"][m["doc_type"]], "number": m["doc_no"]},
            "phone": m["mobile"], "nationality": COUNTRY_A2[m["nationality"]]}


def group_record(g: dict[str, Any]) -> dict[str, Any]:
    if g.get("_deleted_at"):
        return {"id": g["id"], "deleted": True}
    return {
        "id": g["id"], "group_no": g["group_code"], "category": OAUTH_CURSOR["category"][g["group_type"]],
        "agency_credit_code": g["organizer_uscc"], "receiving_credit_code": g["receiving_uscc"], "route": g["route_name"],
        "departure_date": g["start_date"].isoformat(), "return_date": g["end_date"].isoformat(),
        "countries": [COUNTRY_A2[c] for c in g["destinations"]] if g["destinations"] else [], "exit_port": g["exit_port"],
        "pax": g["tourist_count"], "status": OAUTH_CURSOR["status"][g["status"]],
        "submitted_at": _iso(g["submitted_at"]), "modified_at": _iso(g["updated_at"]),
        "guides": [{"card_no": s["guide_card_no"], "role": OAUTH_CURSOR["role"][s["role"]]} for s in g["staff"]],
    }


def contract_record(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": c["id"], "contract_no": c["contract_code"], "agency_credit_code": c["agency_uscc"],
        "type": OAUTH_CURSOR["contract_type"][c["contract_type"]], "group_no": c["group_code"],
        "departure_date": c["start_date"].isoformat(), "return_date": c["end_date"].isoformat(), "pax": c["tourist_count"],
        "price": str(c["price_total"]), "status": OAUTH_CURSOR["contract_status"][c["status"]],
        "registered_at": _iso(c["registered_at"]), "signed_at": _iso(c["signed_at"]), "modified_at": _iso(c["updated_at"]),
        "travellers": [member_record(m) for m in c["tourists"]],
    }


def _stamp(r: dict[str, Any]) -> datetime:
    return r.get("_deleted_at") or r["updated_at"]


class OAuthCursorSandbox(Sandbox):
    dialect = "oauth-cursor"
    token_lifetime = 600

    def __init__(self, *, rate_limit: float = 10.0, **kwargs: Any):
        kwargs.setdefault("credentials", {"client_id": "sandbox-client", "client_secret": "sandbox-client-secret-9f8e7d"})
        super().__init__(**kwargs)
        self.tokens: dict[str, list] = {}  # token -> [expires_at (monotonic), uses]
        self.tokens_issued = 0
        self.rate_limit = rate_limit
        self._recent: deque[float] = deque()
        self._rate_lock = threading.Lock()

    def delete_group(self, group_code: str) -> None:
        """The agency deletes a group: the API now serves a tombstone; the warehouse must cancel it."""
        with self.lock:
            for g in self.data.groups:
                if g["group_code"] == group_code:
                    g["_deleted_at"] = _second(datetime.now(UTC))
                    g["status"] = "CANCELLED"

    def ground_truth(self) -> dict[str, list[dict[str, Any]]]:
        truth = super().ground_truth()
        deleted = {g["group_code"] for g in self.data.groups if g.get("_deleted_at")}
        for row in truth["tour_group"]:
            if row["group_code"] in deleted:
                row["updated_at"] = None  # a tombstone carries no time: the connector stamps its own
        return truth

    def _throttled(self) -> bool:
        with self._rate_lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] > 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit:
                return True
            self._recent.append(now)
            return False

    def route(self, handler: Any, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        if self._throttled():
            return _json(429, {"error": "rate_limited"}, {"Retry-After": "1"})
        if path == "/oauth/token" and method == "POST":
            form = dict(parse_qsl(body.decode()))
            if form.get("grant_type") != "client_credentials" or form.get("client_id") != self.credentials["client_id"] \
                    or form.get("client_secret") != self.credentials["client_secret"]:
                return _json(401, {"error": "invalid_client"})
            token = secrets.token_urlsafe(24)
            self.tokens[token] = [time.monotonic() + self.token_lifetime, 0]
            self.tokens_issued += 1
            return _json(200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime})
        auth = handler.headers.get("Authorization", "")
        state = self.tokens.get(auth.removeprefix("Bearer "))
        if state is None or time.monotonic() >= state[0]:
            return _json(401, {"error": "invalid_token"})
        state[1] += 1
        if self.faults.expire_token_after is not None and state[1] > self.faults.expire_token_after:
            state[0] = 0.0
            return _json(401, {"error": "invalid_token", "error_description": "token expired"})
        if self.faults.take("envelope_error"):
            return _json(503, {"error": "temporarily_unavailable"})
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v2", "groups"] and len(parts) == 5 and parts[4] == "members":
            group = next((g for g in self.data.groups if g["id"] == parts[3]), None)
            if group is None:
                return _json(404, {"error": "not_found"})
            return _json(200, {"items": [member_record(m) for m in group["members"]]})
        listing = {"/api/v2/groups": (self.data.groups, group_record), "/api/v2/contracts": (self.data.contracts, contract_record)}
        if path not in listing:
            return _json(404, {"error": "not_found"})
        try:
            since = datetime.fromisoformat(query["modified_since"]) if query.get("modified_since") else None
            limit = int(query.get("limit", "100"))
            after = json.loads(base64.urlsafe_b64decode(query["cursor"])) if query.get("cursor") else None
        except (ValueError, KeyError):
            return _json(400, {"error": "invalid_request", "error_description": "bad modified_since, limit or cursor"})
        if not 1 <= limit <= 200:
            return _json(400, {"error": "invalid_request", "error_description": "limit must be 1..200"})
        items, render = listing[path]
        chosen = sorted(((_stamp(r).isoformat(), r["id"], r) for r in items if since is None or _stamp(r) >= since), key=lambda t: t[:2])
        if after is not None:
            position = next((i for i, t in enumerate(chosen) if list(t[:2]) > after), len(chosen))
            chosen = chosen[position:]
        page = chosen[:limit]
        records = [render(r) for _, _, r in page]
        if self.faults.duplicate_across_pages and after is not None:
            previous = next((r for r in items if r["id"] == after[1]), None)
            if previous is not None:
                records.insert(0, render(previous))
        next_cursor = base64.urlsafe_b64encode(json.dumps(list(page[-1][:2])).encode()).decode() if len(chosen) > limit else None
        reply = _json(200, {"items": records, "next_cursor": next_cursor})
        self.after_page(1 if after is None else 2)
        return reply
