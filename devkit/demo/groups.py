"""The demo's groups: a month of outbound and domestic groups per agency, with rosters and leaders and
the e-contracts signed for them, as rows of the 团队名单 and 电子合同 templates; a few rows spoiled
the way uploads really go wrong."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from devkit.demo.agencies import CITIES, Agency
from devkit.demo.people import gender_label, make_ric, person
from devkit.demo.spreadsheets import template_headers

if TYPE_CHECKING:
    from devkit.demo.sample import Sample

COUNTRIES = [("日本", "JPN"), ("韩国", "KOR"), ("泰国", "THA"), ("新加坡", "SGP"), ("法国", "FRA"), ("意大利", "ITA")]
PORTS = ["沈阳桃仙机场", "大连周水子机场", "北京首都机场", "上海浦东机场", "成都天府机场"]
PROVINCES = ["11", "12", "13", "21", "22", "23", "31", "37", "44", "51"]

# The group columns of a 团队名单, in the order agencies fill them in.
GROUP_HEADERS = [
    "团号",
    "团队类型",
    "组团社统一社会信用代码",
    "地接社统一社会信用代码",
    "线路名称",
    "出发日期",
    "返回日期",
    "目的地",
    "出境口岸",
    "入境口岸",
    "客源地",
    "游客人数",
    "团队状态",
    "报送时间",
]


def roster_headers() -> list[str]:
    """团队名单: the group's columns, each member's (group_member's own fields), the leader's card."""
    return [*GROUP_HEADERS, *template_headers("group_member", without=("organizer_uscc", "group_code")), "领队证号"]


def contract_headers() -> list[str]:
    """电子合同: the contract's columns (no 更新时间), each tourist's (contract_tourist's own fields)."""
    return [*template_headers("e_contract", without=("updated_at",)),
            *template_headers("contract_tourist", without=("contract_code",))]


def numeric_columns_for(agency: Agency, agencies: list[Agency]) -> tuple[str, ...]:
    # One agency keeps its ID column formatted as numbers: the classic lost-digits upload.
    return ("证件号码",) if agency is agencies[1] else ()


def groups_of(
    rng: random.Random, a: Agency, agencies: list[Agency], month_start: date, sample: Sample
) -> tuple[list, list]:
    """One agency's month of groups: its 团队名单 rows (group columns repeated on each member's row)
    and its 电子合同 rows, counted into `sample`, a few roster rows spoiled (`spoil`)."""
    roster: list[list] = []
    contracts: list[list] = []
    liaoning = [x for x in agencies if x.division.startswith("21") and x.unit_type == "HEAD"]
    for g in range(rng.randrange(3, 7)):
        outbound = a.outbound and rng.random() < 0.6
        start = month_start + timedelta(days=rng.randrange(0, 27))
        end = start + timedelta(days=rng.randrange(2, 8))
        code = f"{'CJ' if outbound else 'GN'}{month_start:%y%m}{g + 1:03d}"
        members = [person(rng, month_start) for _ in range(rng.randrange(4, 16))]
        submitted = datetime.combine(start - timedelta(days=rng.randrange(1, 10)), datetime.min.time()) + timedelta(
            hours=rng.randrange(8, 20)
        )
        receiving = rng.choice(liaoning).uscc if not outbound else ""
        dests = "、".join(c for c, _ in rng.sample(COUNTRIES, 2)) if outbound else "辽宁省"
        leader = a.guides[0] if outbound else ""
        status = "已提交" if rng.random() < 0.9 else "已取消"
        group_cols = [
            code,
            "出境" if outbound else "国内",
            a.uscc,
            receiving,
            f"{'日韩' if outbound else '辽东'}{end.day - start.day + 1}日游",
            start.isoformat(),
            end.isoformat(),
            dests,
            rng.choice(PORTS) if outbound else "",
            "",
            rng.choice(PROVINCES),
            len(members),
            status,
            submitted.strftime("%Y-%m-%d %H:%M:%S"),
        ]
        sample.groups += 1
        contract_code = f"HT{a.uscc[-6:]}{month_start:%y%m}{g + 1:03d}"
        signed = submitted + timedelta(hours=2)
        contract_cols = [
            contract_code,
            a.uscc,
            "出境" if outbound else "境内",
            code,
            start.isoformat(),
            end.isoformat(),
            len(members),
            f"{len(members) * rng.randrange(2000, 9000)}.00",
            "已签署",
            submitted.strftime("%Y-%m-%d %H:%M:%S"),
            signed.strftime("%Y-%m-%d %H:%M:%S"),
        ]
        sample.contracts += 1
        for seq, p in enumerate(members, start=1):
            home = rng.choice(CITIES)[0]
            id_no = make_ric(rng, home, p["birth"], p["gender"])
            doc_type, doc_no = ("护照", f"E{rng.randrange(10000000, 99999999)}") if outbound else ("身份证", id_no)
            row = [
                *group_cols,
                seq,
                p["name"],
                p["pinyin"] if outbound else "",
                gender_label(p["gender"]),
                p["birth"].isoformat(),
                doc_type,
                doc_no,
                "中国",
                f"1{rng.choice('3589')}{rng.randrange(100000000, 999999999)}",
                home[:2],
                leader,
            ]
            roster.append(row)
            contracts.append(
                [
                    *contract_cols,
                    seq,
                    p["name"],
                    gender_label(p["gender"]),
                    p["birth"].isoformat(),
                    "身份证",
                    id_no,
                    "CHN",
                    "",
                ]
            )
            sample.members += 1
    spoil(rng, a, roster, sample)
    return roster, contracts


def spoil(rng: random.Random, a: Agency, roster: list[list], sample: Sample) -> None:
    """A few rows as they really go wrong, one kind per agency, for the stewards' report."""
    if len(roster) < 3:
        return
    kind = sample.groups % 4
    row = roster[1]
    doc_type_at, doc_no_at, birth_at = 19, 20, 18
    if kind == 0 and row[doc_type_at] == "身份证":
        row[doc_no_at] = row[doc_no_at][:-1] + ("0" if row[doc_no_at][-1] != "0" else "1")
        sample.bad_rows.append(f"{a.name}: 证件号码校验位错误")
    elif kind == 1:
        row[birth_at] = "1990-13-01"
        sample.bad_rows.append(f"{a.name}: 出生日期无法识别")
    elif kind == 2:
        roster[2][doc_type_at], roster[2][doc_no_at] = row[doc_type_at], row[doc_no_at]
        sample.bad_rows.append(f"{a.name}: 同团证件号码重复")
    else:
        row[doc_type_at] = "军官证"
        sample.bad_rows.append(f"{a.name}: 证件类型不在代码表中")
