"""Sandbox of the `legacy-xml` on-premise export (SOURCES.md §3): MD5 day token, GBK XML in a
default namespace, offset/limit, `Head/Code` errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from connectors.http.auth import legacy_xml_token
from devkit.sandbox.server import Reply, Sandbox
from devkit.sandbox.wire import COUNTRY_ZH, LEGACY_XML, SHANGHAI

NAMESPACE = "http://erp.example.cn/export/teams"


def _t(ts: datetime | None) -> str:
    return "" if ts is None else ts.astimezone(SHANGHAI).strftime("%Y%m%d%H%M%S")


def _el(tag: str, value: Any) -> str:
    return f"<{tag}/>" if value is None or value == "" else f"<{tag}>{escape(str(value))}</{tag}>"


def team_xml(g: dict[str, Any]) -> str:
    guests = "".join(
        "<Guest>" + "".join([_el("XH", m["seq_no"]), _el("XM", m["name"]), _el("PY", m["name_pinyin"]), _el("XB", LEGACY_XML["XB"][m["gender"]]),
                             _el("CSRQ", m["birth_date"].strftime("%Y%m%d")), _el("ZJLX", LEGACY_XML["ZJLX"][m["doc_type"]]),
                             _el("ZJHM", m["doc_no"]), _el("SJHM", m["mobile"]), _el("GJ", COUNTRY_ZH[m["nationality"]])]) + "</Guest>"
        for m in g["members"])
    guides = "".join(f"<Guide>{_el('DYZH', s['guide_card_no'])}{_el('SF', LEGACY_XML['SF'][s['role']])}</Guide>" for s in g["staff"])
    fields = [_el("TDH", g["group_code"]), _el("TDLX", LEGACY_XML["TDLX"][g["group_type"]]), _el("ZTSDM", g["organizer_uscc"]),
              _el("DJSDM", g["receiving_uscc"]), _el("XLMC", g["route_name"]), _el("CFRQ", g["start_date"].strftime("%Y%m%d")),
              _el("FHRQ", g["end_date"].strftime("%Y%m%d")), _el("MDD", "、".join(COUNTRY_ZH[c] for c in g["destinations"] or [])),
              _el("CJKA", g["exit_port"]), _el("RS", g["tourist_count"]), _el("ZT", LEGACY_XML["ZT"][g["status"]]),
              _el("TBSJ", _t(g["submitted_at"])), _el("XGSJ", _t(g["updated_at"]))]
    return "<Team>" + "".join(fields) + f"<Guests>{guests}</Guests><Guides>{guides}</Guides></Team>"


def response(code: str, msg: str, total: int = 0, teams: str = "") -> Reply:
    text = (f'<?xml version="1.0" encoding="GBK"?><Response xmlns="{NAMESPACE}"><Head><Code>{code}</Code><Msg>{msg}</Msg>'
            f"<Total>{total}</Total></Head><Body>{teams}</Body></Response>")
    return Reply(200, text.encode("gbk"), "text/xml; charset=GBK")


class LegacyXmlSandbox(Sandbox):
    dialect = "legacy-xml"

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("credentials", {"account": "sandbox", "password": "sandbox-password-31415"})
        super().__init__(**kwargs)

    def route(self, handler: Any, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        if path != "/export/teams.do":
            return Reply(404, b"not found", "text/plain")
        expected = legacy_xml_token(self.credentials["account"], self.credentials["password"], datetime.now(SHANGHAI))
        if query.get("account") != self.credentials["account"] or query.get("token") != expected:
            return response("9001", "令牌无效")
        if self.faults.take("envelope_error"):
            return response("9999", "系统繁忙")
        try:
            since = datetime.strptime(query["from"], "%Y%m%d%H%M%S").replace(tzinfo=SHANGHAI) if query.get("from") else None
            start = int(query.get("start", "0"))
            limit = int(query.get("limit", "500"))
        except ValueError:
            return response("9002", "参数错误")
        if start < 0 or not 1 <= limit <= 500:
            return response("9002", "参数错误")
        chosen = sorted((g for g in self.data.groups if since is None or g["updated_at"] >= since), key=lambda g: (g["updated_at"], g["group_code"]))
        page = chosen[start: start + limit]
        if self.faults.duplicate_across_pages and start > 0:
            page = [chosen[start - 1], *page]
        reply = response("0000", "成功", len(chosen), "".join(team_xml(g) for g in page))
        self.after_page(start // limit + 1)
        return reply

    def ground_truth(self) -> dict[str, list[dict[str, Any]]]:
        """The export serves teams only: contracts are not part of what this vendor hands over."""
        truth = super().ground_truth()
        return {k: v for k, v in truth.items() if k in ("tour_group", "group_member", "group_staff")}
