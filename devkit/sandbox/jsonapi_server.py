"""Sandbox of a fourth ERP vendor, unlike the three of SOURCES.md: a JSON:API (jsonapi.org) service.

Bearer token; `GET /v1/tour-groups` answers `application/vnd.api+json` documents: resources of type
`tour-groups` with kebab-case attributes, relationships `travelers` and `escorts` whose resources are
in `included`, keyset pagination by a `links.next` link, `meta.total`, and an incremental filter
`filter[updated-since]` / `filter[updated-until]` (ISO 8601). Errors are JSON:API `errors` documents.
This is the vendor the onboarding guide (docs/onboarding.md) connects with configuration only.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from devkit.sandbox.server import Reply, Sandbox
from devkit.sandbox.wire import SHANGHAI

PATH = "/v1/tour-groups"
MEDIA_TYPE = "application/vnd.api+json"
# canonical value -> this vendor's code
MARKET = {"OUTBOUND": "outbound", "DOMESTIC": "domestic", "INBOUND": "inbound"}
STATE = {"SUBMITTED": "filed", "APPROVED": "approved", "RETURNED": "sent-back", "CANCELLED": "withdrawn"}
DOCUMENT_KIND = {"CN_RIC": "resident-id", "CN_PASSPORT": "passport", "EEP_HK_MO": "hk-macao-permit", "EEP_TW": "taiwan-permit", "OTHER": "other"}
DUTY = {"LEADER": "leader", "NATIONAL_GUIDE": "national-guide", "LOCAL_GUIDE": "local-guide"}


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(SHANGHAI).isoformat()


def _errors(status: int, title: str, detail: str = "") -> Reply:
    body = {"errors": [{"status": str(status), "title": title, **({"detail": detail} if detail else {})}]}
    return Reply(status, json.dumps(body, ensure_ascii=False).encode(), MEDIA_TYPE)


def traveler(group_id: str, m: dict[str, Any]) -> dict[str, Any]:
    return {"type": "travelers", "id": f"{group_id}-{m['seq_no']}", "attributes": {
        "position": m["seq_no"], "full-name": m["name"], "romanized-name": m["name_pinyin"], "sex": m["gender"],
        "born-on": m["birth_date"].isoformat(), "document-kind": DOCUMENT_KIND[m["doc_type"]],
        "document-number": m["doc_no"], "mobile-phone": m["mobile"], "citizenship": m["nationality"]}}


def escort(s: dict[str, Any]) -> dict[str, Any]:
    return {"type": "escorts", "id": s["guide_card_no"], "attributes": {"licence-number": s["guide_card_no"], "duty": DUTY[s["role"]]}}


def tour_group(g: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "tour-groups",
        "id": g["id"],
        "attributes": {
            "tour-code": g["group_code"], "agency-uscc": g["organizer_uscc"], "market": MARKET[g["group_type"]],
            "ground-agency-uscc": g["receiving_uscc"], "itinerary-title": g["route_name"],
            "departs-on": g["start_date"].isoformat(), "returns-on": g["end_date"].isoformat(),
            "destination-countries": list(g["destinations"] or []), "exit-port": g["exit_port"],
            "headcount": g["tourist_count"], "state": STATE[g["status"]],
            "filed-at": _iso(g["submitted_at"]), "updated-at": _iso(g["updated_at"]),
        },
        "relationships": {
            "travelers": {"data": [{"type": "travelers", "id": f"{g['id']}-{m['seq_no']}"} for m in g["members"]]},
            "escorts": {"data": [{"type": "escorts", "id": s["guide_card_no"]} for s in g["staff"]]},
        },
    }


@dataclass
class Release:
    """What a vendor's new release changed in its attributes (schema drift tests), by `type.attribute`:
    `renames` {"travelers.full-name": "traveler-name"}, `added` {"tour-groups.insurance-policy": "PICC-1"}."""

    renames: dict[str, str] = field(default_factory=dict)
    added: dict[str, Any] = field(default_factory=dict)

    def apply(self, resource: dict[str, Any]) -> dict[str, Any]:
        kind = resource["type"]
        attributes = {self.renames.get(f"{kind}.{k}", k): v for k, v in resource["attributes"].items()}
        attributes |= {k.partition(".")[2]: v for k, v in self.added.items() if k.partition(".")[0] == kind}
        return {**resource, "attributes": attributes}


def document(groups: list[dict[str, Any]], *, total: int, next_link: str | None, self_link: str,
             release: Release | None = None) -> dict[str, Any]:
    """One JSON:API page: the groups, their travelers and escorts once each in `included`."""
    apply = (release or Release()).apply
    included: dict[tuple[str, str], dict[str, Any]] = {}
    for g in groups:
        for m in g["members"]:
            r = apply(traveler(g["id"], m))
            included.setdefault((r["type"], r["id"]), r)
        for s in g["staff"]:
            r = apply(escort(s))
            included.setdefault((r["type"], r["id"]), r)
    return {"data": [apply(tour_group(g)) for g in groups], "included": list(included.values()),
            "links": {"self": self_link, "next": next_link}, "meta": {"total": total}, "jsonapi": {"version": "1.1"}}


class JsonApiSandbox(Sandbox):
    dialect = "rest"

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("credentials", {"token": "sandbox-jsonapi-token-2718281828"})
        super().__init__(**kwargs)
        self.release = Release()  # attributes renamed or added by a new release of the vendor's API

    def route(self, handler: Any, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        if handler.headers.get("Authorization", "") != f"Bearer {self.credentials['token']}":
            return _errors(401, "Unauthorized", "a valid bearer token is required")
        if self.faults.take("envelope_error"):
            return Reply(200, json.dumps({"errors": [{"status": "503", "title": "Service Unavailable"}]}).encode(), MEDIA_TYPE)
        if method != "GET" or path != PATH:
            return _errors(404, "Not Found")
        try:
            size = int(query.get("page[size]", "50"))
            since = datetime.fromisoformat(query["filter[updated-since]"]) if query.get("filter[updated-since]") else None
            until = datetime.fromisoformat(query["filter[updated-until]"]) if query.get("filter[updated-until]") else None
            after = json.loads(base64.urlsafe_b64decode(query["page[after]"])) if query.get("page[after]") else None
        except (ValueError, KeyError):
            return _errors(400, "Bad Request", "page[size], page[after] or filter[updated-since] is malformed")
        if not 1 <= size <= 100:
            return _errors(400, "Bad Request", "page[size] must be 1..100")
        chosen = sorted(
            (g for g in self.data.groups if (since is None or g["updated_at"] >= since) and (until is None or g["updated_at"] <= until)),
            key=lambda g: (g["updated_at"].isoformat(), g["id"]),
        )
        total = len(chosen)
        if after is not None:
            position = next((i for i, g in enumerate(chosen) if [g["updated_at"].isoformat(), g["id"]] > after), len(chosen))
            rest = chosen[position:]
        else:
            position, rest = 0, chosen
        page = rest[:size]
        if self.faults.duplicate_across_pages and position > 0:
            page = [chosen[position - 1], *page]
        next_link = None
        if len(rest) > size:
            last = page[-1]
            token = base64.urlsafe_b64encode(json.dumps([last["updated_at"].isoformat(), last["id"]]).encode()).decode()
            params = {k: v for k, v in query.items() if k != "page[after]"} | {"page[after]": token}
            next_link = f"{PATH}?{urlencode(params)}"
        self_link = f"{PATH}?{urlencode(query)}" if query else PATH
        reply = Reply(200, json.dumps(document(page, total=total, next_link=next_link, self_link=self_link, release=self.release), ensure_ascii=False).encode(), MEDIA_TYPE)
        self.after_page(1 if after is None else 2)
        return reply

    def ground_truth(self) -> dict[str, list[dict[str, Any]]]:
        """This vendor serves tour groups with their travelers and escorts; no contracts."""
        truth = super().ground_truth()
        return {k: v for k, v in truth.items() if k in ("tour_group", "group_member", "group_staff")}
