"""A small warehouse of quarantined rows in three regions, written with SQLAlchemy Core.

Shenyang (2101) has two agencies, Dalian (2102) one, Hebei (13) one; one entry's agency is unknown to
the warehouse but the entry carries its own division code. Values include full ID numbers, mobiles and
a formula payload, so masking, escaping and region scoping can be checked on what the report shows.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from warehouse import tables as t

SHENYANG_A = "91210100MA0SYA001X"
SHENYANG_B = "91210100MA0SYB002Y"
DALIAN = "91210200MA0DLC003Z"
HEBEI = "91130100MA0HBD004W"
UNREGISTERED = "91210100MA0UNK005Q"

FULL_ID = "21010219900101123X"
DALIAN_ID = "210203198505053217"
MOBILE = "13812345678"
FORMULA = '=HYPERLINK("http://evil.example/x","点我")'

AGENCIES = [
    (SHENYANG_A, "沈阳青年旅行社", "210102"),
    (SHENYANG_B, "沈阳国际旅行社", "210103"),
    (DALIAN, "大连海滨旅行社", "210202"),
    (HEBEI, "石家庄太行旅行社", "130102"),
]

# created (UTC, naive) 2026-03-05 02:00 is 2026-03-05 10:00 in Asia/Shanghai
DAY = datetime(2026, 3, 5, 2, 0)
EARLIER = datetime(2026, 3, 3, 2, 0)


def _member_raw(uscc: str, group: str, seq: int, doc: str, mobile: str = MOBILE, name: str = "张三") -> dict:
    return {
        "团号": group, "组团社统一社会信用代码": uscc, "序号": str(seq), "姓名": name, "性别": "男",
        "出生日期": "1990-01-01", "证件类型": "身份证", "证件号码": doc, "手机号码": mobile,
    }


def _issue(rule: str, field: str | None, value: str | None, message: str, severity: str = "ERROR") -> dict:
    return {"rule": rule, "severity": severity, "field": field, "value": value, "message": message}


ENTRIES = [
    # (batch, source, file, row, entity, key, agency, division, raw, rules, created)
    ("b-day", "files", "/in/沈阳青年/团队名单0305.xlsx", 5, "group_member", {"organizer_uscc": SHENYANG_A, "group_code": "SY001", "seq_no": 1},
     SHENYANG_A, None, _member_raw(SHENYANG_A, "SY001", 1, FULL_ID),
     [_issue("RIC_CHECKSUM", "doc_no", FULL_ID, f"证件号码 {FULL_ID} 校验位错误，请核对第18位"),
      _issue("MOBILE_FORMAT", "mobile", MOBILE, "手机号码格式不正确", "WARN")], DAY),
    ("b-day", "files", "/in/沈阳青年/团队名单0305.xlsx", 6, "group_member", {"organizer_uscc": SHENYANG_A, "group_code": "SY001", "seq_no": 2},
     SHENYANG_A, None, _member_raw(SHENYANG_A, "SY001", 2, "", name=FORMULA),
     [_issue("REQUIRED", "doc_no", None, "证件号码不能为空"), _issue("TYPE", "name", FORMULA, "姓名格式不正确")], DAY),
    ("b-day", "sftp:erp", "/in/沈阳国际/group.csv", 3, "tour_group", {"organizer_uscc": SHENYANG_B, "group_code": "GJ9"},
     SHENYANG_B, "210103", {"团号": "GJ9", "组团社统一社会信用代码": SHENYANG_B, "出发日期": "2026/13/01"},
     [_issue("TYPE", "start_date", "2026/13/01", "出发日期不是有效日期")], DAY),
    ("b-day", "files", "/in/大连海滨/名单.xlsx", 4, "group_member", {"organizer_uscc": DALIAN, "group_code": "DL7", "seq_no": 1},
     DALIAN, None, _member_raw(DALIAN, "DL7", 1, DALIAN_ID),
     [_issue("RIC_CHECKSUM", "doc_no", DALIAN_ID, "证件号码校验位错误，请核对第18位")], DAY),
    ("b-day", "files", "/in/太行/名单.xlsx", 4, "group_member", {"organizer_uscc": HEBEI, "group_code": "HB1", "seq_no": 1},
     HEBEI, None, _member_raw(HEBEI, "HB1", 1, "130102198001010011"),
     [_issue("RIC_CHECKSUM", "doc_no", "130102198001010011", "证件号码校验位错误，请核对第18位")], DAY),
    ("b-old", "files", "/in/未登记/名单.xlsx", 9, "group_member", {"organizer_uscc": UNREGISTERED, "group_code": "U1", "seq_no": 1},
     UNREGISTERED, "210104", _member_raw(UNREGISTERED, "U1", 1, "X"),
     [_issue("RIC_FORMAT", "doc_no", "X", "证件号码应为18位")], EARLIER),
]


def seed(engine: sa.Engine) -> dict[str, int]:
    """Create the tables and insert the sample; returns quarantine ids by `<agency>:<row>`."""
    t.metadata.create_all(engine)
    ta = t.entity_tables["travel_agency"]
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        for uscc, name, division in AGENCIES:
            conn.execute(ta.insert().values(
                uscc=uscc, name=name, unit_type="HEAD", division_code=division, business_scope="DOMESTIC",
                status="ACTIVE", updated_at=EARLIER, _batch_no=1,
            ))
        for batch, source, file, row, entity, key, agency, division, raw, rules, created in ENTRIES:
            result = conn.execute(t.quarantine.insert().values(
                batch_id=batch, source=source, file=file, row=row, entity=entity,
                natural_key=json.dumps(key, ensure_ascii=False, sort_keys=True), agency_uscc=agency, division_code=division,
                raw=json.dumps(raw, ensure_ascii=False), rules=rules, status="open", created_at=created, updated_at=created,
            ))
            ids[f"{agency}:{row}"] = result.inserted_primary_key[0]
    return ids
