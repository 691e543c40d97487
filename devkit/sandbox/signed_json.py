"""Sandbox of the `signed-json` ERP open API (SOURCES.md §1): signed GETs, envelopes, page numbers."""

from __future__ import annotations

import json
import time
from typing import Any

from connectors.http.auth import signed_json_signature
from devkit.sandbox.server import Reply, Sandbox
from devkit.sandbox.wire import COUNTRY_ZH, SIGNED_JSON, parse_shanghai, shanghai

MAX_SKEW_MS = 5 * 60 * 1000


def _envelope(code: int, msg: str, data: Any = None) -> Reply:
    return Reply(200, json.dumps({"code": code, "msg": msg, "data": data}, ensure_ascii=False).encode())


def _tourist(m: dict[str, Any]) -> dict[str, Any]:
    return {"no": m["seq_no"], "name": m["name"], "pinyin": m["name_pinyin"], "sex": SIGNED_JSON["sex"][m["gender"]],
            "birthday": m["birth_date"].strftime("%Y%m%d"), "cardType": SIGNED_JSON["cardType"][m["doc_type"]],
            "cardNo": m["doc_no"], "mobile": m["mobile"], "nation": COUNTRY_ZH[m["nationality"]]}


def team_record(g: dict[str, Any]) -> dict[str, Any]:
    return {
        "teamNo": g["group_code"], "teamType": SIGNED_JSON["teamType"][g["group_type"]], "corpCode": g["organizer_uscc"],
        "receiveCorpCode": g["receiving_uscc"], "lineName": g["route_name"], "startDate": g["start_date"].isoformat(),
        "backDate": g["end_date"].isoformat(), "destination": ",".join(COUNTRY_ZH[c] for c in g["destinations"] or []) or None,
        "outPort": g["exit_port"], "personCount": g["tourist_count"], "teamStatus": SIGNED_JSON["teamStatus"][g["status"]],
        "reportTime": shanghai(g["submitted_at"]), "updateTime": shanghai(g["updated_at"]),
        "guides": [{"guideNo": s["guide_card_no"], "guideType": SIGNED_JSON["guideType"][s["role"]]} for s in g["staff"]],
        "tourists": [_tourist(m) for m in g["members"]],
    }


def contract_record(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "contractNo": c["contract_code"], "corpCode": c["agency_uscc"], "contractType": SIGNED_JSON["contractType"][c["contract_type"]],
        "teamNo": c["group_code"], "startDate": c["start_date"].isoformat(), "backDate": c["end_date"].isoformat(),
        "personCount": c["tourist_count"], "amount": int(c["price_total"] * 100), "status": SIGNED_JSON["status"][c["status"]],
        "uploadTime": shanghai(c["registered_at"]), "signTime": shanghai(c["signed_at"]), "updateTime": shanghai(c["updated_at"]),
        "travellers": [_tourist(m) for m in c["tourists"]],
    }


class SignedJsonSandbox(Sandbox):
    dialect = "signed-json"

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("credentials", {"app_id": "sandbox-app", "sign_key": "sandbox-sign-key-0123456789abcdef"})
        super().__init__(**kwargs)
        self.nonces: set[str] = set()

    def _authenticate(self, query: dict[str, str], body: bytes) -> Reply | None:
        if query.get("appId") != self.credentials["app_id"]:
            return _envelope(40001, "appId无效")
        try:
            skew = abs(int(query.get("timestamp", "")) - int(time.time() * 1000))
        except ValueError:
            return _envelope(40003, "时间戳无效")
        if skew > MAX_SKEW_MS:
            return _envelope(40003, "时间戳超出允许范围")
        expected = signed_json_signature(self.credentials["sign_key"], {k: v for k, v in query.items() if k != "sign"}, body)
        if query.get("sign") != expected:
            return _envelope(40001, "签名错误")
        nonce = query.get("nonce", "")
        if len(nonce) != 16 or nonce in self.nonces:
            return _envelope(40002, "nonce重复")
        self.nonces.add(nonce)
        return None

    def throttle(self) -> Reply:
        return _envelope(42900, "请求过于频繁")  # the vendor's gateway answers 200 with its code

    def route(self, handler: Any, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        refused = self._authenticate(query, body)
        if refused:
            return refused
        if self.faults.take("envelope_error"):
            return _envelope(42900, "请求过于频繁")
        streams = {"/openapi/v1/teams": (self.data.groups, team_record, "group_code"),
                   "/openapi/v1/contracts": (self.data.contracts, contract_record, "contract_code")}
        if path not in streams:
            return _envelope(40400, "接口不存在")
        try:
            page_no = int(query.get("pageNo", "1"))
            page_size = int(query.get("pageSize", "20"))
            start = parse_shanghai(query["updatedStart"]) if query.get("updatedStart") else None
            end = parse_shanghai(query["updatedEnd"]) if query.get("updatedEnd") else None
        except (ValueError, KeyError):
            return _envelope(40010, "参数错误")
        if page_size > 100 or page_size < 1 or page_no < 1:
            return _envelope(40010, "参数错误：pageSize最大100")
        items, render, key = streams[path]
        chosen = sorted((r for r in items if (start is None or r["updated_at"] >= start) and (end is None or r["updated_at"] <= end)),
                        key=lambda r: (r["updated_at"], r[key]))
        offset = (page_no - 1) * page_size
        page = chosen[offset: offset + page_size]
        if self.faults.duplicate_across_pages and page_no > 1 and offset - 1 < len(chosen):
            page = [chosen[offset - 1], *page]
        data = {"total": len(chosen), "pageNo": page_no, "pageSize": page_size, "list": [render(r) for r in page]}
        reply = _envelope(0, "success", data)
        self.after_page(page_no)
        return reply
