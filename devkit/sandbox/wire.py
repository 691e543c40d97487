"""Canonical values ↔ each vendor's codes: the sandboxes render with these tables, and the mapping
YAMLs in `mappings/sources/` state the same tables the other way round (tests hold them equal)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from devkit.sandbox.seed import COUNTRIES

SHANGHAI = ZoneInfo("Asia/Shanghai")
COUNTRY_ZH = {a3: zh for a3, _, zh in COUNTRIES} | {"CHN": "中国"}
COUNTRY_A2 = {a3: a2 for a3, a2, _ in COUNTRIES} | {"CHN": "CN"}

SIGNED_JSON = {
    "teamType": {"OUTBOUND": 1, "DOMESTIC": 2, "INBOUND": 3},
    "teamStatus": {"SUBMITTED": 1, "APPROVED": 2, "RETURNED": 3, "CANCELLED": 9},
    "guideType": {"LEADER": 1, "NATIONAL_GUIDE": 2, "LOCAL_GUIDE": 3},
    "sex": {"M": 1, "F": 2},
    "cardType": {"CN_RIC": 1, "CN_PASSPORT": 2, "EEP_HK_MO": 3, "EEP_TW": 4, "OTHER": 9},
    "contractType": {"OUTBOUND": "CJ", "TAIWAN": "FT", "DOMESTIC": "JN", "ONE_DAY": "YRY", "B2B": "DJ"},
    "status": {"REGISTERED": 1, "SIGNED": 2, "TERMINATED": 3, "CANCELLED": 4},
}
OAUTH_CURSOR = {
    "category": {"OUTBOUND": "outbound", "DOMESTIC": "domestic", "INBOUND": "inbound"},
    "status": {"SUBMITTED": "submitted", "APPROVED": "approved", "RETURNED": "returned", "CANCELLED": "cancelled"},
    "gender": {"M": "male", "F": "female"},
    "document": {"CN_RIC": "id_card", "CN_PASSPORT": "passport", "EEP_HK_MO": "hk_macau_permit", "EEP_TW": "taiwan_permit", "OTHER": "other"},
    "contract_type": {"OUTBOUND": "outbound", "TAIWAN": "taiwan", "DOMESTIC": "domestic", "ONE_DAY": "one_day", "B2B": "b2b"},
    "contract_status": {"REGISTERED": "registered", "SIGNED": "signed", "TERMINATED": "terminated", "CANCELLED": "cancelled"},
    "role": {"LEADER": "leader", "NATIONAL_GUIDE": "national_guide", "LOCAL_GUIDE": "local_guide"},
}
LEGACY_XML = {
    "TDLX": {"OUTBOUND": "CJ", "DOMESTIC": "GN", "INBOUND": "RJ"},
    "ZT": {"SUBMITTED": "1", "APPROVED": "2", "RETURNED": "3", "CANCELLED": "9"},
    "XB": {"M": "男", "F": "女"},
    "ZJLX": {"CN_RIC": "身份证", "CN_PASSPORT": "护照", "EEP_HK_MO": "港澳通行证", "EEP_TW": "台湾通行证", "OTHER": "其他"},
    "SF": {"LEADER": "领队", "NATIONAL_GUIDE": "全陪", "LOCAL_GUIDE": "地陪"},
}


def shanghai(ts: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str | None:
    return None if ts is None else ts.astimezone(SHANGHAI).strftime(fmt)


def parse_shanghai(text: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> datetime:
    return datetime.strptime(text, fmt).replace(tzinfo=SHANGHAI)
