"""SPEC section 2: countries are ISO alpha-3 from alpha-2, alpha-3 or Chinese names; provinces 2 digits."""

from __future__ import annotations

import pytest

from mappings.countries import country_lookup
from mappings.normalise import code_key
from mappings.regions import province_lookup


@pytest.mark.parametrize("spelling, alpha3", [
    ("日本", "JPN"), ("JP", "JPN"), ("JPN", "JPN"), ("jp", "JPN"), ("Japan", "JPN"),
    ("香港", "HKG"), ("澳门", "MAC"), ("台湾", "TWN"), ("中国", "CHN"), ("韩国", "KOR"), ("美国", "USA"),
    ("英国", "GBR"), ("俄罗斯", "RUS"), ("泰国", "THA"), ("新加坡", "SGP"), ("马来西亚", "MYS"),
    ("越南", "VNM"), ("柬埔寨", "KHM"), ("法国", "FRA"), ("澳大利亚", "AUS"), ("朝鲜", "PRK"),
])
def test_common_country_spellings(spelling, alpha3):
    assert country_lookup()[code_key(spelling)] == alpha3


@pytest.mark.parametrize("spelling, code", [("辽宁", "21"), ("辽宁省", "21"), ("内蒙古", "15"), ("广西壮族自治区", "45"),
                                            ("北京市", "11"), ("21", "21"), ("210000", "21")])
def test_provinces_by_name_or_code(spelling, code):
    assert province_lookup()[code_key(spelling)] == code
