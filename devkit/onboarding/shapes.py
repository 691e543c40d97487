"""The shapes of a suggestion: what a column's sample values look like, and whether that fits a field.

18-character codes passing the USCC check, valid resident IDs, `yyyyMMdd` and ISO dates and times,
11-digit mobiles, integers, country names, small code sets: a confirming shape raises a name's score,
a contradicting one cuts it, and a few shapes are evidence enough on their own (`SHAPE_ONLY`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from devkit.onboarding.sample import Column
from tourlink import schema

SKIP_CODES = {None, "division", "destination"}
_COMPACT_DATE = re.compile(r"^\d{8}$")
_COMPACT_TIME = re.compile(r"^\d{14}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")
_MOBILE = re.compile(r"^(\+?86)?1[3-9]\d{9}$")
_INT = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_PINYIN = re.compile(r"^[A-Z]+( [A-Z]+)*$")
_PERSON = re.compile(r"^[\u4e00-\u9fff·]{2,5}$")
_GUIDE_CARD = re.compile(r"^[DL]-\d{4}-\d{6}$")
# the provinces' two leading digits (GB/T 2260): a 6-digit code starting otherwise is no division code
_PROVINCES = frozenset("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split())
_SEPARATORS = ("、", ",", "，", ";", "；", "|", "/")


def _date(text: str) -> bool:
    try:
        if _COMPACT_DATE.match(text):
            datetime.strptime(text, "%Y%m%d")
        elif _ISO_DATE.match(text):
            date.fromisoformat(text)
        else:
            return False
        return True
    except ValueError:
        return False


@cache
def _countries() -> dict[str, str]:
    from mappings.countries import country_lookup

    return country_lookup()


@dataclass
class Shape:
    """What a column's sample values look like (fractions of non-null values)."""

    n: int
    uscc: float = 0
    ric: float = 0
    date: float = 0
    compact_date: float = 0
    timestamp: float = 0
    compact_timestamp: float = 0
    mobile: float = 0
    integer: float = 0
    decimal: float = 0
    country: float = 0
    pinyin: float = 0
    person: float = 0
    guide_card: float = 0
    division: float = 0  # 6-digit administrative division codes (110105)
    distinct: int = 0
    separator: str | None = None
    is_list: bool = False


def shape_of(column: Column) -> Shape:
    from stdnum.cn import ric, uscc

    values = column.values
    n = len(values)
    shape = Shape(n=n, distinct=len(set(values)), is_list=column.is_list)
    if not n:
        return shape

    def share(test: Any) -> float:
        return sum(1 for v in values if test(v)) / n

    countries = _countries()
    from mappings.normalise import code_key

    shape.uscc = share(lambda v: len(v) == 18 and uscc.is_valid(v))
    shape.ric = share(lambda v: len(v) == 18 and ric.is_valid(v))
    shape.date = share(_date)
    shape.compact_date = share(lambda v: bool(_COMPACT_DATE.match(v)) and _date(v))
    shape.timestamp = share(lambda v: bool(_DATETIME.match(v) or _COMPACT_TIME.match(v)))
    shape.compact_timestamp = share(lambda v: bool(_COMPACT_TIME.match(v)))
    shape.mobile = share(lambda v: bool(_MOBILE.match(v)))
    shape.integer = share(lambda v: bool(_INT.match(v)))
    shape.decimal = share(lambda v: bool(_DECIMAL.match(v)))
    shape.country = share(lambda v: all(code_key(p) in countries for p in v.split("|")) and not _INT.match(v))
    shape.pinyin = share(lambda v: bool(_PINYIN.match(v)))
    shape.person = share(lambda v: bool(_PERSON.match(v)))
    shape.guide_card = share(lambda v: bool(_GUIDE_CARD.match(v)))
    shape.division = share(lambda v: len(v) == 6 and v.isdigit() and v[:2] in _PROVINCES)
    for sep in _SEPARATORS:
        if any(sep in v for v in values):
            shape.separator = sep
            break
    return shape


def expected_shape(f: schema.Field, entity: str | None = None) -> str:
    if "USCC_CHECKSUM" in f.rules or f.name.endswith("_uscc"):
        return "uscc"
    if f.name == "doc_no":
        return "doc"
    if "MOBILE_FORMAT" in f.rules:
        return "mobile"
    if "GUIDE_CARD_FORMAT" in f.rules:
        return "guide_card"
    if f.codes == "country":
        return "country"
    if f.codes == "division" or "DIVISION_CODE" in f.rules:
        return "division"
    if f.codes and f.codes not in SKIP_CODES:
        return "code"
    if f.name == "name_pinyin":
        return "pinyin"
    if f.norm == "name":  # a person's name only in entities of persons (an agency's name is text)
        return "person" if entity is None or "doc_no" in schema.entity(entity).field_names else "text"
    return {"date": "date", "timestamp": "timestamp", "int": "int", "decimal": "decimal", "list": "list", "set": "list"}.get(f.type, "text")


def shape_fit(expected: str, s: Shape) -> tuple[float, float]:
    """(bonus, factor): a confirming shape raises a name's score, a contradicting one cuts it."""
    if s.n == 0:
        return 0.0, 0.8  # no values: the name alone decides, a little less sure
    specific = {"uscc": s.uscc, "mobile": s.mobile, "guide_card": s.guide_card, "pinyin": s.pinyin, "person": s.person,
                "division": s.division}
    if expected in specific:
        fit = specific[expected]
        return (0.3, 1.0) if fit >= 0.9 else (0.0, 0.9) if fit >= 0.5 else (0.0, 0.35)
    if expected == "doc":
        if s.ric >= 0.5:
            return 0.3, 1.0
        return (0.0, 0.4) if s.date > 0.5 or s.uscc > 0.5 or s.integer > 0.9 else (0.0, 0.9)
    if expected == "date":
        return (0.2, 1.0) if s.date >= 0.9 else (0.0, 0.3)
    if expected == "timestamp":
        return (0.2, 1.0) if s.timestamp >= 0.9 else (0.0, 0.7) if s.date >= 0.9 else (0.0, 0.3)
    if expected == "int":
        return (0.1, 1.0) if s.integer >= 0.95 else (0.0, 0.3)
    if expected == "decimal":
        return (0.1, 1.0) if s.decimal >= 0.95 else (0.0, 0.3)
    if expected == "country":
        return (0.25, 1.0) if s.country >= 0.9 else (0.0, 0.5)
    if expected == "code":
        return (0.1, 1.0) if s.distinct <= 12 else (0.0, 0.5)
    if expected == "list":
        return (0.1, 1.0) if s.is_list or s.separator or s.country >= 0.9 else (0.0, 0.85)
    # free text: values that are clearly something else argue against it
    if s.uscc > 0.5 or s.ric > 0.5 or s.date > 0.5 or s.timestamp > 0.5 or (s.integer > 0.9 and s.distinct > 1):
        return 0.0, 0.5
    return 0.0, 1.0


SHAPE_ONLY = {"uscc": "uscc", "doc": "ric", "mobile": "mobile", "guide_card": "guide_card", "pinyin": "pinyin", "country": "country"}
