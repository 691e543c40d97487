"""Countries as ISO 3166-1 alpha-3, from alpha-2, alpha-3, English or Chinese names (SPEC section 2).

The lookup is built once from pycountry and its zh_CN translations; the engine applies it to whole
columns with `replace_strict`.
"""

from __future__ import annotations

import gettext
from functools import cache

import pycountry

from mappings.normalise import code_key

# Names sources use that pycountry's zh_CN catalogue spells differently (or formally).
CHINESE_NAMES = {
    "中国": "CHN", "中国大陆": "CHN", "中华人民共和国": "CHN", "大陆": "CHN",
    "香港": "HKG", "中国香港": "HKG", "澳门": "MAC", "中国澳门": "MAC", "台湾": "TWN", "中国台湾": "TWN",
    "韩国": "KOR", "南韩": "KOR", "朝鲜": "PRK", "北韩": "PRK", "美国": "USA", "英国": "GBR",
    "俄罗斯": "RUS", "越南": "VNM", "老挝": "LAO", "伊朗": "IRN", "叙利亚": "SYR", "摩尔多瓦": "MDA",
    "坦桑尼亚": "TZA", "柬埔寨": "KHM", "蒙古国": "MNG", "委内瑞拉": "VEN", "玻利维亚": "BOL", "捷克": "CZE", "新西兰": "NZL",
    "阿联酋": "ARE", "阿拉伯联合酋长国": "ARE", "土耳其": "TUR", "梵蒂冈": "VAT", "文莱": "BRN",
}


@cache
def country_lookup() -> dict[str, str]:
    """Normalised (NFKC, upper-case, no spaces) spelling → alpha-3."""
    zh = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True)
    lookup: dict[str, str] = {}
    for country in pycountry.countries:  # codes first: a name never shadows a code
        lookup[country.alpha_2] = lookup[country.alpha_3] = country.alpha_3
    for country in pycountry.countries:
        names = [getattr(country, attr, None) for attr in ("name", "common_name", "official_name")]
        for name in filter(None, names):
            for spelling in (name, zh.gettext(name)):
                lookup.setdefault(code_key(spelling), country.alpha_3)
    for name, alpha3 in CHINESE_NAMES.items():
        lookup[code_key(name)] = alpha3
    return lookup
