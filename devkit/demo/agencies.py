"""The demo's agencies: head offices in Liaoning and elsewhere, a branch and an outlet, their
guides and the guides' APP days, as rows of the platform's import templates."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from devkit.demo.people import gender_label, make_ric, make_uscc, person

# (division code, city label) of the agencies' head offices
CITIES = [
    ("210102", "沈阳"),
    ("210103", "沈阳"),
    ("210202", "大连"),
    ("210204", "大连"),
    ("210302", "鞍山"),
    ("110101", "北京"),
    ("310101", "上海"),
    ("510104", "成都"),
]


@dataclass
class Agency:
    uscc: str
    name: str
    division: str
    unit_type: str = "HEAD"
    parent: str | None = None
    outbound: bool = False
    licence: str = ""
    guides: list[str] = field(default_factory=list)


def make_agencies(rng: random.Random) -> list[Agency]:
    """One head office per city (two in three outbound, each with three guides), then a branch and an
    outlet of the first."""
    names = ["国际旅行社有限公司", "旅行社有限公司", "国旅有限公司", "假期旅行社有限公司"]
    agencies = []
    for i, (division, city) in enumerate(CITIES):
        uscc_code = make_uscc(rng, division)
        outbound = i % 3 != 2
        prov = {"21": "LN", "11": "BJ", "31": "SH", "51": "SC"}[division[:2]]
        licence = f"L-{prov}-CJ{10000 + i:05d}" if outbound else f"L-{prov}{10000 + i:05d}"
        agency = Agency(
            uscc_code,
            f"{city}{['远航', '神州', '海之韵', '金桥', '锦程', '华夏', '东方', '天府'][i]}{names[i % 4]}",
            division,
            outbound=outbound,
            licence=licence,
        )
        agency.guides = [f"D-{2100 + i:04d}-{rng.randrange(100000, 999999):06d}" for _ in range(3)]
        agencies.append(agency)
    head = agencies[0]
    agencies.append(
        Agency(
            make_uscc(rng, "210202"),
            head.name.replace("有限公司", "大连分社"),
            "210202",
            "BRANCH",
            head.uscc,
            outbound=False,
        )
    )
    agencies.append(
        Agency(make_uscc(rng, "210103"), head.name.replace("有限公司", "北站门市部"), "210103", "OUTLET", head.uscc)
    )
    return agencies


def agency_rows(agencies: list[Agency], month_start: date) -> list[list]:
    """旅行社信息导入模板 rows."""
    rows = []
    for a in agencies:
        scope = "国内旅游、入境旅游" + ("、出境旅游" if a.outbound else "")
        granted = (month_start - timedelta(days=900)).isoformat() if a.outbound else ""
        rows.append(
            [
                a.uscc,
                a.name,
                {"HEAD": "总社", "BRANCH": "分社", "OUTLET": "服务网点"}[a.unit_type],
                a.parent or "",
                a.licence if a.unit_type == "HEAD" else "",
                a.division,
                scope,
                granted,
                "2015-03-01",
                "正常",
                "",
                "张三",
                "辽宁省沈阳市和平区中山路1号",
                "024-23456789",
                "200000.00",
                "2027-06-30",
                f"{month_start - timedelta(days=40)} 09:00:00",
            ]
        )
    return rows


def erp_vendor_agencies(regions: list[str]) -> list[Agency]:
    """The agencies whose groups the sandbox ERPs serve (same seed as the sandboxes): registered
    outbound agencies, so their filings count in the indicators like any agency's."""
    from devkit.sandbox.seed import REGIONS, seed

    agencies = []
    for region in dict.fromkeys(regions):
        division = REGIONS.get(region, (region[:2] + "0101", ""))[0]
        prov = f"P{region[:2]}"
        for i, a in enumerate(seed(region).agencies):
            agencies.append(
                Agency(a["uscc"], a["name"], division, outbound=True, licence=f"L-{prov}-CJ{20000 + i:05d}")
            )
    return agencies


def guide_rows(rng: random.Random, agencies: list[Agency], month_start: date) -> list[list]:
    """导游信息导入模板 rows: every agency's guides (leaders of the outbound agencies)."""
    rows = []
    for a in agencies:
        for card in a.guides:
            p = person(rng, month_start)
            rows.append(
                [
                    card,
                    p["name"],
                    make_ric(rng, a.division, p["birth"], p["gender"]),
                    gender_label(p["gender"]),
                    f"13{rng.randrange(100000000, 999999999)}",
                    "2028-12-31",
                    a.uscc if a.outbound else "",
                    f"{month_start} 08:00:00",
                ]
            )
    return rows


def app_day_rows(rng: random.Random, agencies: list[Agency], month_start: date) -> list[list]:
    """导游APP使用导入模板 rows: every other day of the month, opened seven times in ten."""
    rows = []
    for a in agencies:
        for card in a.guides:
            for day in range(0, 31, 2):
                d = month_start + timedelta(days=day)
                if d.month == month_start.month:
                    rows.append([card, d.isoformat(), "是" if rng.random() < 0.7 else "否"])
    return rows
