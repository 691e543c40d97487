"""A realistic month of agency filings, for the demo and the end-to-end tests.

Several agencies (Liaoning and elsewhere, heads, a branch and an outlet), their guides, a month of
outbound and domestic groups with rosters and leaders, the e-contracts signed for them, the guides'
APP days, and the year's key cities and agencies. Written the way agencies really upload them: the
platform's Chinese import templates as messy xlsx (title rows, merged group cells, notes, 合计 rows)
and GBK CSV, plus a handful of deliberately bad rows a steward will find in the failure report.
Deterministic for a given seed.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from stdnum.cn import ric, uscc

from devkit.demo.spreadsheets import write_template_csv, write_template_xlsx
from tourlink import schema

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红玉兰玲丹萍鹏辉飞鑫宇浩然子涵欣怡梓轩雨桐诗琪博文思远佳怡晨阳"
PINYIN = {"王": "WANG", "李": "LI", "张": "ZHANG", "刘": "LIU", "陈": "CHEN", "杨": "YANG", "黄": "HUANG", "赵": "ZHAO"}

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
COUNTRIES = [("日本", "JPN"), ("韩国", "KOR"), ("泰国", "THA"), ("新加坡", "SGP"), ("法国", "FRA"), ("意大利", "ITA")]
PORTS = ["沈阳桃仙机场", "大连周水子机场", "北京首都机场", "上海浦东机场", "成都天府机场"]
PROVINCES = ["11", "12", "13", "21", "22", "23", "31", "37", "44", "51"]


def make_uscc(rng: random.Random, division: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + division + "".join(rng.choice(alphabet) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def make_ric(rng: random.Random, division: str, birth: date, gender: str) -> str:
    seq = rng.randrange(0, 500) * 2 + (1 if gender == "M" else 0)
    body = f"{division}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "?")  # stdnum drops the last character: a placeholder


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


@dataclass
class Sample:
    """What was generated, so tests can compare the warehouse with it."""

    month: str
    agencies: list[Agency]
    files: list[Path]
    groups: int = 0
    members: int = 0
    contracts: int = 0
    bad_rows: list[str] = field(default_factory=list)


def _person(rng: random.Random, month_start: date) -> dict:
    surname = rng.choice(list(PINYIN)) if rng.random() < 0.5 else rng.choice(SURNAMES)
    name = surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    gender = rng.choice("MF")
    birth = month_start - timedelta(days=rng.randrange(18 * 365, 75 * 365))
    return {"name": name, "gender": gender, "birth": birth, "pinyin": PINYIN.get(surname, "ZHOU") + " " + "MING"}


def _headers(entity: str) -> list[str]:
    return [f.header for f in schema.entity(entity).fields]


def _agencies(rng: random.Random) -> list[Agency]:
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


def _agency_rows(agencies: list[Agency], month_start: date) -> list[list]:
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


def write_sample(
    out_dir: Path, *, month: str = "2026-10", seed: int = 20261001, erp_regions: list[str] | None = None
) -> Sample:
    """Write the month's upload files into `out_dir` and say what they hold."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    month_start = date.fromisoformat(f"{month}-01")
    agencies = _agencies(rng)
    sample = Sample(month=month, agencies=agencies, files=[])

    path = out_dir / "旅行社信息导入模板.xlsx"
    write_template_xlsx(
        path, _headers("travel_agency"), _agency_rows(agencies, month_start), title="旅行社信息导入模板（2026年10月）"
    )
    sample.files.append(path)
    if erp_regions:
        path = out_dir / "旅行社信息导入模板_ERP接入社.xlsx"
        vendors = erp_vendor_agencies(erp_regions)
        write_template_xlsx(path, _headers("travel_agency"), _agency_rows(vendors, month_start), title="ERP接入旅行社")
        sample.files.append(path)

    guide_rows = []
    for a in agencies:
        for card in a.guides:
            p = _person(rng, month_start)
            guide_rows.append(
                [
                    card,
                    p["name"],
                    make_ric(rng, a.division, p["birth"], p["gender"]),
                    "男" if p["gender"] == "M" else "女",
                    f"13{rng.randrange(100000000, 999999999)}",
                    "2028-12-31",
                    a.uscc if a.outbound else "",
                    f"{month_start} 08:00:00",
                ]
            )
    path = out_dir / "导游信息导入模板.csv"
    write_template_csv(path, _headers("guide"), guide_rows, encoding="gbk")
    sample.files.append(path)

    app_rows = []
    for a in agencies:
        for card in a.guides:
            for day in range(0, 31, 2):
                d = month_start + timedelta(days=day)
                if d.month == month_start.month:
                    app_rows.append([card, d.isoformat(), "是" if rng.random() < 0.7 else "否"])
    path = out_dir / "导游APP使用导入模板.csv"
    write_template_csv(path, _headers("guide_app_day"), app_rows, encoding="utf-8-sig")
    sample.files.append(path)

    for a in agencies:
        if a.unit_type == "OUTLET":
            continue
        roster, contracts = _groups_of(rng, a, agencies, month_start, sample)
        if not roster:
            continue
        roster_headers = [
            *_group_headers(),
            "序号",
            "姓名",
            "姓名拼音",
            "性别",
            "出生日期",
            "证件类型",
            "证件号码",
            "国籍",
            "手机号码",
            "常住省份",
            "领队证号",
        ]
        path = out_dir / f"团队名单_{a.uscc}.xlsx"
        write_template_xlsx(
            path,
            roster_headers,
            roster,
            title=f"{a.name} 团队名单（{month}）",
            notes="注：每位游客一行，团队信息每行重复填写。",
            total_row=True,
            merge_columns=("团号",),
            numeric_columns=_numeric_columns_for(a, agencies),
        )
        sample.files.append(path)
        contract_headers = [
            *_headers("e_contract"),
            "序号",
            "姓名",
            "性别",
            "出生日期",
            "证件类型",
            "证件号码",
            "国籍",
            "手机号码",
        ]
        contract_headers.remove("更新时间")
        path = out_dir / f"电子合同_{a.uscc}.xlsx"
        write_template_xlsx(path, contract_headers, contracts, title=f"{a.name} 电子合同")
        sample.files.append(path)

    key_path = out_dir / "key_city.csv"
    with key_path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["year", "city_code", "name"])
        w.writerows([[month[:4], "2101", "沈阳"], [month[:4], "2102", "大连"], [month[:4], "2103", "鞍山"]])
    sample.files.append(key_path)
    key_path = out_dir / "key_agency.csv"
    with key_path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["year", "rank", "uscc", "name"])
        w.writerows([[month[:4], i + 1, a.uscc, a.name] for i, a in enumerate(agencies[:4])])
    sample.files.append(key_path)
    return sample


def _group_headers() -> list[str]:
    return [
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


def _numeric_columns_for(agency: Agency, agencies: list[Agency]) -> tuple[str, ...]:
    # One agency keeps its ID column formatted as numbers: the classic lost-digits upload.
    return ("证件号码",) if agency is agencies[1] else ()


def _groups_of(
    rng: random.Random, a: Agency, agencies: list[Agency], month_start: date, sample: Sample
) -> tuple[list, list]:
    roster: list[list] = []
    contracts: list[list] = []
    liaoning = [x for x in agencies if x.division.startswith("21") and x.unit_type == "HEAD"]
    for g in range(rng.randrange(3, 7)):
        outbound = a.outbound and rng.random() < 0.6
        start = month_start + timedelta(days=rng.randrange(0, 27))
        end = start + timedelta(days=rng.randrange(2, 8))
        code = f"{'CJ' if outbound else 'GN'}{month_start:%y%m}{g + 1:03d}"
        members = [_person(rng, month_start) for _ in range(rng.randrange(4, 16))]
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
                "男" if p["gender"] == "M" else "女",
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
                    "男" if p["gender"] == "M" else "女",
                    p["birth"].isoformat(),
                    "身份证",
                    id_no,
                    "CHN",
                    "",
                ]
            )
            sample.members += 1
    _spoil(rng, a, roster, sample)
    return roster, contracts


def _spoil(rng: random.Random, a: Agency, roster: list[list], sample: Sample) -> None:
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
