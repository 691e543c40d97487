"""Province names ↔ GB/T 2260 two-digit province codes (SPEC section 2, regions).

Sources write provinces as names (`辽宁`, `辽宁省`, `内蒙古自治区`) or codes (`21`, `210000`). Whether a
six-digit division code exists is the validators' job (`DIVISION_CODE`), not the mapping's.
"""

from __future__ import annotations

from functools import cache

from mappings.normalise import code_key

PROVINCES = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
    "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}
_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市")


def short_name(full: str) -> str:
    """`辽宁省` → `辽宁`, `广西壮族自治区` → `广西`."""
    for suffix in _SUFFIXES:
        if full.endswith(suffix):
            return full[: -len(suffix)]
    return full


@cache
def province_names() -> dict[str, str]:
    """Normalised province name (full or short) → two-digit code."""
    lookup = {}
    for code, full in PROVINCES.items():
        lookup[code_key(full)] = code
        lookup[code_key(short_name(full))] = code
    return lookup


@cache
def province_lookup() -> dict[str, str]:
    """Every accepted spelling of a province (names, `21`, `210000`) → two-digit code."""
    lookup = dict(province_names())
    for code in PROVINCES:
        lookup[code] = code
        lookup[code + "0000"] = code
    return lookup
