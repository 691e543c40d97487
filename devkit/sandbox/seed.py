"""Deterministic, realistic data for the sandbox ERPs: agencies, a month of groups, members, contracts.

The records are canonical (SPEC field names and values); each dialect server renders them in its own
wire format, so the canonical records are the ground truth a test compares the warehouse with.
Identifiers are valid (USCC and resident ID check characters), names are real Chinese names.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from stdnum.cn import uscc

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞",
         "平", "刚", "桂英", "建华", "文", "华", "建国", "红梅", "志强", "海燕", "宇轩", "子涵", "浩然", "欣怡", "梓萱", "思远", "嘉怡", "俊杰"]
PINYIN = {"王": "WANG", "李": "LI", "张": "ZHANG", "刘": "LIU", "陈": "CHEN", "杨": "YANG", "黄": "HUANG", "赵": "ZHAO", "吴": "WU", "周": "ZHOU"}
AGENCY_NAMES = ["国旅", "中青旅", "春秋国际旅行社", "众信旅游", "凯撒旅游", "携程国际旅行社", "广之旅", "康辉旅行社"]
# (alpha-3, alpha-2, Chinese name): destinations and foreign nationalities.
COUNTRIES = [("JPN", "JP", "日本"), ("KOR", "KR", "韩国"), ("THA", "TH", "泰国"), ("SGP", "SG", "新加坡"),
             ("FRA", "FR", "法国"), ("ITA", "IT", "意大利"), ("AUS", "AU", "澳大利亚"), ("VNM", "VN", "越南")]
PORTS = ["北京首都国际机场", "上海浦东国际机场", "广州白云国际机场", "深圳罗湖口岸", "珠海拱北口岸"]
ROUTES = {"OUTBOUND": ["日本本州经典7日游", "泰国曼谷芭提雅6日游", "法意瑞10日游", "新加坡马来西亚5日游"],
          "DOMESTIC": ["云南昆明大理丽江6日游", "北京故宫长城5日游", "桂林阳朔4日游", "海南三亚5日游"],
          "INBOUND": ["长城故宫入境团4日游", "上海苏州杭州入境团5日游"]}
REGIONS = {"110000": ("110105", "北京"), "310000": ("310104", "上海"), "330000": ("330106", "杭州"), "440000": ("440104", "广州")}
BASE_TIME = datetime(2026, 10, 1, tzinfo=UTC)  # seeded records were updated in the month after this


def make_uscc(rng: random.Random, division: str) -> str:
    body = "91" + division + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + uscc.calc_check_digit(body)


def make_ric(rng: random.Random, division: str, birth: date, male: bool) -> str:
    seq = rng.randrange(0, 100) * 10 + rng.choice([1, 3, 5, 7, 9] if male else [0, 2, 4, 6, 8])
    body = f"{division}{birth:%Y%m%d}{seq:03d}"
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(body))
    return body + "10X98765432"[total % 11]


def _second(ts: datetime) -> datetime:
    return ts.replace(microsecond=0)


@dataclass
class Dataset:
    """Canonical records by entity, plus vendor ids for the dialects that have them."""

    agencies: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)  # tour_group + "members", "staff", "id"
    contracts: list[dict[str, Any]] = field(default_factory=list)  # e_contract + "tourists", "id"


def seed(region: str = "110000", *, agencies: int = 3, groups: int = 40, seed_value: int = 20261001) -> Dataset:
    """`groups` groups spread over a month for `agencies` agencies of `region`; same input, same data."""
    rng = random.Random(f"{seed_value}-{region}")
    division, city = REGIONS.get(region, (region[:2] + "0101", "北京"))
    data = Dataset()
    for i in range(agencies):
        data.agencies.append({"uscc": make_uscc(rng, division), "name": f"{city}{AGENCY_NAMES[(i + int(region[:2])) % len(AGENCY_NAMES)]}有限公司"})
    receivers = [make_uscc(rng, "530102"), make_uscc(rng, "460202")]
    for n in range(groups):
        agency = data.agencies[n % agencies]
        group_type = rng.choices(["OUTBOUND", "DOMESTIC", "INBOUND"], weights=[5, 4, 1])[0]
        start = (BASE_TIME + timedelta(days=rng.randrange(0, 30))).date()
        end = start + timedelta(days=rng.randrange(1, 10))
        submitted = _second(BASE_TIME + timedelta(days=rng.randrange(0, 28), seconds=rng.randrange(0, 86400)))
        updated = _second(submitted + timedelta(seconds=rng.randrange(0, 3 * 86400)))
        code = f"{agency['uscc'][-6:]}-{start:%Y%m%d}-{n + 1:04d}"
        members = []
        for seq in range(1, rng.randrange(2, 7)):
            male = rng.random() < 0.5
            birth = date(rng.randrange(1950, 2015), rng.randrange(1, 13), rng.randrange(1, 29))
            surname = rng.choice(SURNAMES)
            given = rng.choice(GIVEN)
            foreign = group_type == "INBOUND"
            country = rng.choice(COUNTRIES) if foreign else ("CHN", "CN", "中国")
            doc_type = "OTHER" if foreign else rng.choices(["CN_RIC", "CN_PASSPORT", "EEP_HK_MO"], weights=[6, 3, 1])[0]
            doc_no = make_ric(rng, rng.choice(["110105", "310104"]), birth, male) if doc_type == "CN_RIC" else (
                "E" + "".join(rng.choice("0123456789") for _ in range(8)) if doc_type != "OTHER"
                else "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(9)))
            members.append({
                "seq_no": seq, "name": surname + given, "name_pinyin": PINYIN.get(surname, "XING") + "MING",
                "gender": "M" if male else "F", "birth_date": birth, "doc_type": doc_type, "doc_no": doc_no,
                "nationality": country[0], "mobile": f"1{rng.choice('3456789')}{rng.randrange(0, 10**9):09d}",
            })
        staff = [{"guide_card_no": f"{'L' if group_type == 'OUTBOUND' else 'D'}-{rng.randrange(1000, 10000)}-{rng.randrange(0, 10**6):06d}",
                  "role": "LEADER" if group_type == "OUTBOUND" else "NATIONAL_GUIDE"}]
        if rng.random() < 0.4:
            staff.append({"guide_card_no": f"D-{rng.randrange(1000, 10000)}-{rng.randrange(0, 10**6):06d}", "role": "LOCAL_GUIDE"})
        destinations = sorted({c[0] for c in rng.sample(COUNTRIES, rng.randrange(1, 3))}) if group_type == "OUTBOUND" else None
        group = {
            "id": f"g{rng.getrandbits(40):010x}", "group_code": code, "organizer_uscc": agency["uscc"],
            "group_type": group_type, "receiving_uscc": rng.choice(receivers) if group_type != "OUTBOUND" else None,
            "route_name": rng.choice(ROUTES[group_type]), "start_date": start, "end_date": end,
            "destinations": destinations, "exit_port": rng.choice(PORTS) if group_type == "OUTBOUND" else None,
            "tourist_count": len(members), "status": rng.choices(["SUBMITTED", "APPROVED", "RETURNED", "CANCELLED"], weights=[3, 6, 1, 1])[0],
            "submitted_at": submitted, "updated_at": updated, "members": members, "staff": staff,
        }
        data.groups.append(group)
        if rng.random() < 0.8:
            contract_type = {"OUTBOUND": "OUTBOUND", "DOMESTIC": rng.choice(["DOMESTIC", "ONE_DAY"]), "INBOUND": "B2B"}[group_type]
            status = rng.choices(["REGISTERED", "SIGNED", "TERMINATED", "CANCELLED"], weights=[2, 6, 1, 1])[0]
            registered = _second(submitted - timedelta(days=rng.randrange(1, 10)))
            data.contracts.append({
                "id": f"c{rng.getrandbits(40):010x}", "contract_code": f"HT{start:%Y%m}{n + 1:05d}{region[:2]}",
                "agency_uscc": agency["uscc"], "contract_type": contract_type, "group_code": code,
                "start_date": start, "end_date": end, "tourist_count": len(members),
                "price_total": Decimal(rng.randrange(50_000, 5_000_000)) / 100 * len(members),
                "status": status, "registered_at": registered,
                "signed_at": _second(registered + timedelta(hours=rng.randrange(1, 48))) if status in ("SIGNED", "TERMINATED") else None,
                "updated_at": _second(updated - timedelta(seconds=rng.randrange(0, 3600))),
                "tourists": [dict(m) for m in members],
            })
    for c in data.contracts:
        c["price_total"] = c["price_total"].quantize(Decimal("0.01"))
    return data


def entity_rows(data: Dataset) -> dict[str, list[dict[str, Any]]]:
    """The ground truth by canonical entity, the way the warehouse should hold it."""
    rows: dict[str, list[dict[str, Any]]] = {"tour_group": [], "group_member": [], "group_staff": [], "e_contract": [], "contract_tourist": []}
    for g in data.groups:
        if g.get("_hidden"):
            continue
        rows["tour_group"].append({k: v for k, v in g.items() if k not in {"id", "members", "staff"} and not k.startswith("_")})
        keys = {"organizer_uscc": g["organizer_uscc"], "group_code": g["group_code"]}
        rows["group_member"] += [{**keys, **m} for m in g["members"]]
        rows["group_staff"] += [{**keys, **s} for s in g["staff"]]
    for c in data.contracts:
        rows["e_contract"].append({k: v for k, v in c.items() if k not in {"id", "tourists"} and not k.startswith("_")})
        rows["contract_tourist"] += [{"contract_code": c["contract_code"], **t} for t in c["tourists"]]
    return rows
