"""A second `signed-json` vendor, written from SOURCES.md §1 alone (not the project's sandbox).

"Qiantang Travel Cloud", the ERP of three Zhejiang agencies, as a real HTTP server on loopback
(stdlib `ThreadingHTTPServer`, port 0): `GET /openapi/v1/teams` and `/openapi/v1/contracts`, every
request signed (`appId`, `timestamp` in epoch ms, a 16-character `nonce`, `sign` = upper-case hex
HMAC-SHA256 over the other parameters sorted as `k=v&…` + `&body=` + sha256hex(body)); HTTP 200 with
an envelope even on errors (40001 bad signature or unknown `appId`, 40002 reused nonce, 40003 clock
skew); `updatedStart`/`updatedEnd` in Asia/Shanghai; `pageNo`/`pageSize` (max 100), ordered by
`updateTime`. Its data is its own, including a few records a steward will have to fix (a team whose
organizer USCC fails its check digit, a tourist whose ID fails its check digit, a contract ending
before it starts). `ground_truth()` is what the warehouse must hold after a sync: every good record,
in canonical form, converted here by hand (never through the project's mapping).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
APP_ID = "qt-app-20261"
SIGN_KEY = "qt-sign-key-7b1e0c5d9a"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
COUNTIES = ("330102", "330106", "330203", "330302", "330402")  # 杭州上城, 西湖, 宁波海曙, 温州鹿城, 嘉兴南湖
COUNTRIES = {"日本": "JPN", "泰国": "THA", "新加坡": "SGP", "法国": "FRA"}
SURNAMES = (("王", "WANG"), ("李", "LI"), ("张", "ZHANG"), ("陈", "CHEN"), ("周", "ZHOU"), ("吴", "WU"))
GIVEN = (("芳", "FANG"), ("伟", "WEI"), ("娜", "NA"), ("磊", "LEI"), ("静", "JING"), ("涛", "TAO"))


def uscc(body17: str) -> str:
    """GB 32100-2015: the 18th character from the first 17."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return body17 + USCC_CHARS[(31 - total % 31) % 31]


def ric(county: str, born: date, seq: int) -> str:
    """GB 11643: a resident ID with its ISO 7064 MOD 11-2 check character."""
    body = f"{county}{born:%Y%m%d}{seq:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, RIC_WEIGHTS, strict=True)) % 11]


def _wall(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _utc(text: str) -> str:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None).isoformat()


class VendorData:
    """The vendor's records (as it serves them) and the canonical rows a correct sync loads."""

    def __init__(self, seed: int = 17, teams: int = 24, now: datetime | None = None):
        rng = random.Random(seed)
        now = (now or datetime.now(UTC)).replace(microsecond=0) - timedelta(days=2)
        agencies = [uscc(f"9133{c[2:]}{rng.randrange(10**8, 10**9)}") for c in COUNTIES[:3]]
        self.teams: list[dict[str, Any]] = []
        self.contracts: list[dict[str, Any]] = []
        self.bad: dict[str, list[tuple]] = {"tour_group": [], "group_member": [], "e_contract": []}
        for i in range(teams):
            corp = agencies[i % 3]
            outbound = i % 2 == 0
            start = date(2026, 11, 1) + timedelta(days=i)
            back = start + timedelta(days=4 + i % 3)
            updated = now - timedelta(hours=teams - i)
            tourists = []
            for n in range(1, 3 + i % 3):
                sex = 1 + (n + i) % 2
                born = date(1960 + (i * 7 + n) % 40, 1 + n % 12, 1 + (i + n) % 28)
                sur, given = SURNAMES[(i + n) % 6], GIVEN[(i * 3 + n) % 6]
                card = ric(COUNTIES[(i + n) % 5], born, 10 * n + (1 if sex == 1 else 2))
                tourists.append({
                    "no": n, "name": sur[0] + given[0], "pinyin": f"{sur[1]} {given[1]}", "sex": sex,
                    "birthday": f"{born:%Y%m%d}", "cardType": 2 if outbound else 1,
                    "cardNo": f"E{30000000 + i * 10 + n:08d}" if outbound else card,
                    "mobile": f"13{(i * 37 + n) % 10}{rng.randrange(10**7, 10**8)}", "nation": "中国",
                })
            team = {
                "teamNo": f"QT{2026110 + i:07d}", "teamType": 1 if outbound else 2, "corpCode": corp,
                "receiveCorpCode": None, "lineName": f"{'日本关西' if outbound else '皖南山水'}{4 + i % 3}日游",
                "startDate": f"{start:%Y-%m-%d}", "backDate": f"{back:%Y-%m-%d}",
                "destination": ",".join(list(COUNTRIES)[i % 4:i % 4 + 2]) if outbound else "",
                "outPort": "杭州萧山国际机场" if outbound else "", "personCount": len(tourists),
                "teamStatus": (1, 2, 2, 3, 9)[i % 5], "reportTime": _wall(updated - timedelta(days=3)),
                "updateTime": _wall(updated),
                "guides": [{"guideNo": f"D-3300-{100000 + i:06d}", "guideType": 1 if outbound else 2}],
                "tourists": tourists,
            }
            self.teams.append(team)
            if i % 2 == 1:
                self.contracts.append({
                    "contractNo": f"HT-QT-{9000 + i}", "corpCode": corp, "contractType": "JN", "teamNo": team["teamNo"],
                    "startDate": team["startDate"], "backDate": team["backDate"], "personCount": len(tourists),
                    "amount": 129900 * len(tourists) + i, "status": (1, 2, 2, 3)[i % 4],
                    "uploadTime": _wall(updated - timedelta(days=5)), "signTime": _wall(updated - timedelta(days=4)),
                    "updateTime": _wall(updated), "travellers": [dict(t) for t in tourists],
                })
        # the vendor's genuinely bad records (a steward fixes them at the agency, not the mapping)
        broken = self.teams[5]
        broken["corpCode"] = broken["corpCode"][:-1] + ("0" if broken["corpCode"][-1] != "0" else "1")
        self.bad["tour_group"].append((broken["corpCode"], broken["teamNo"]))
        member = self.teams[9]["tourists"][0]  # a domestic team: resident IDs
        member["cardNo"] = member["cardNo"][:-1] + ("0" if member["cardNo"][-1] != "0" else "1")
        self.bad["group_member"].append((self.teams[9]["corpCode"], self.teams[9]["teamNo"], 1))
        late = self.contracts[3]
        late["backDate"] = f"{date.fromisoformat(late['startDate']) - timedelta(days=1):%Y-%m-%d}"
        self.bad["e_contract"].append((late["contractNo"],))

    def records(self, stream: str) -> list[dict[str, Any]]:
        rows = self.teams if stream == "teams" else self.contracts
        return sorted(rows, key=lambda r: r["updateTime"])

    # -------------------------------------------------------------------------------- truth

    def ground_truth(self) -> dict[str, list[dict[str, Any]]]:
        """The canonical rows a correct sync loads (the bad records and their children left out)."""
        group_type = {1: "OUTBOUND", 2: "DOMESTIC", 3: "INBOUND"}
        team_status = {1: "SUBMITTED", 2: "APPROVED", 3: "RETURNED", 9: "CANCELLED"}
        doc_type = {1: "CN_RIC", 2: "CN_PASSPORT"}
        role = {1: "LEADER", 2: "NATIONAL_GUIDE", 3: "LOCAL_GUIDE"}
        contract_status = {1: "REGISTERED", 2: "SIGNED", 3: "TERMINATED", 4: "CANCELLED"}
        out: dict[str, list[dict[str, Any]]] = {e: [] for e in ("tour_group", "group_member", "group_staff", "e_contract", "contract_tourist")}

        def person(t: dict[str, Any]) -> dict[str, Any]:
            return {"seq_no": t["no"], "name": t["name"], "gender": "M" if t["sex"] == 1 else "F",
                    "birth_date": datetime.strptime(t["birthday"], "%Y%m%d").date().isoformat(),
                    "doc_type": doc_type[t["cardType"]], "doc_no": t["cardNo"], "nationality": "CHN", "mobile": t["mobile"]}

        for t in self.teams:
            key = (t["corpCode"], t["teamNo"])
            if key in self.bad["tour_group"]:
                continue
            out["tour_group"].append({
                "group_code": t["teamNo"], "organizer_uscc": t["corpCode"], "group_type": group_type[t["teamType"]],
                "receiving_uscc": None, "route_name": t["lineName"], "start_date": t["startDate"], "end_date": t["backDate"],
                "destinations": "|".join(COUNTRIES[c] for c in t["destination"].split(",")) if t["destination"] else None,
                "exit_port": t["outPort"] or None, "entry_port": None, "source_province": None,
                "tourist_count": t["personCount"], "status": team_status[t["teamStatus"]],
                "submitted_at": _utc(t["reportTime"]), "updated_at": _utc(t["updateTime"]),
            })
            for m in t["tourists"]:
                if (*key, m["no"]) in self.bad["group_member"]:
                    continue
                out["group_member"].append({"organizer_uscc": key[0], "group_code": key[1], "name_pinyin": m["pinyin"].replace(" ", ""),
                                            "residence_province": None, **person(m)})
            for g in t["guides"]:
                out["group_staff"].append({"organizer_uscc": key[0], "group_code": key[1], "guide_card_no": g["guideNo"],
                                           "role": role[g["guideType"]], "service_from": None, "service_to": None})
        for c in self.contracts:
            if (c["contractNo"],) in self.bad["e_contract"]:
                continue
            out["e_contract"].append({
                "contract_code": c["contractNo"], "agency_uscc": c["corpCode"], "contract_type": "DOMESTIC",
                "group_code": c["teamNo"], "start_date": c["startDate"], "end_date": c["backDate"],
                "tourist_count": c["personCount"], "price_total": str(Decimal(c["amount"]) / 100),
                "status": contract_status[c["status"]], "registered_at": _utc(c["uploadTime"]),
                "signed_at": _utc(c["signTime"]), "updated_at": _utc(c["updateTime"]),
            })
            out["contract_tourist"] += [{"contract_code": c["contractNo"], **person(t)} for t in c["travellers"]]
        return out


# ------------------------------------------------------------------------------------ server


def signature(key: str, params: dict[str, str], body: bytes = b"") -> str:
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign")
    canonical += "&body=" + hashlib.sha256(body).hexdigest()
    return hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest().upper()


class QiantangVendor:
    """The vendor's server on 127.0.0.1 (port 0 by default); `requests` counts what reached it."""

    PATHS = {"/openapi/v1/teams": "teams", "/openapi/v1/contracts": "contracts"}

    def __init__(self, data: VendorData | None = None, *, app_id: str = APP_ID, sign_key: str = SIGN_KEY, port: int = 0):
        self.data = data or VendorData()
        self.credentials = {"app_id": app_id, "sign_key": sign_key}
        self.requests = 0
        self.signed_requests = 0
        self.honour_window = True  # False: a vendor that ignores updatedStart (every read returns everything)
        self._nonces: set[str] = set()
        self._lock = threading.Lock()
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                status, payload = vendor.answer(parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)))
                body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> QiantangVendor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> QiantangVendor:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _error(self, code: int, msg: str) -> tuple[int, dict[str, Any]]:
        return 200, {"code": code, "msg": msg, "data": None}

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
        if path not in self.PATHS:
            return 404, {"code": 40400, "msg": "not found", "data": None}
        signed = query.get("appId") == self.credentials["app_id"] and query.get("sign")
        if not signed or not hmac.compare_digest(query["sign"], signature(self.credentials["sign_key"], query)):
            return self._error(40001, "签名错误")
        try:
            skew = abs(time.time() * 1000 - int(query.get("timestamp", "0")))
        except ValueError:
            skew = float("inf")
        if skew > 5 * 60 * 1000:
            return self._error(40003, "时间戳超出允许范围")
        nonce = query.get("nonce", "")
        with self._lock:
            if len(nonce) != 16 or nonce in self._nonces:
                return self._error(40002, "nonce重复")
            self._nonces.add(nonce)
            self.signed_requests += 1
        rows = self.data.records(self.PATHS[path])
        if query.get("updatedStart") and self.honour_window:
            rows = [r for r in rows if r["updateTime"] >= query["updatedStart"]]
        if query.get("updatedEnd"):
            rows = [r for r in rows if r["updateTime"] <= query["updatedEnd"]]
        page_no = max(int(query.get("pageNo") or 1), 1)
        size = min(max(int(query.get("pageSize") or 20), 1), 100)
        chunk = rows[(page_no - 1) * size: page_no * size]
        return 200, {"code": 0, "msg": "success",
                     "data": {"total": len(rows), "pageNo": page_no, "pageSize": size, "list": chunk}}
