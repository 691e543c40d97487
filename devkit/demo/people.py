"""People and codes for the demo: Chinese names, valid USCCs and resident ID numbers (with their
check characters, from python-stdnum), genders as the templates spell them."""

from __future__ import annotations

import random
from datetime import date, timedelta

from stdnum.cn import ric, uscc

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红玉兰玲丹萍鹏辉飞鑫宇浩然子涵欣怡梓轩雨桐诗琪博文思远佳怡晨阳"
PINYIN = {"王": "WANG", "李": "LI", "张": "ZHANG", "刘": "LIU", "陈": "CHEN", "杨": "YANG", "黄": "HUANG", "赵": "ZHAO"}


def make_uscc(rng: random.Random, division: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + division + "".join(rng.choice(alphabet) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def make_ric(rng: random.Random, division: str, birth: date, gender: str) -> str:
    seq = rng.randrange(0, 500) * 2 + (1 if gender == "M" else 0)
    body = f"{division}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "?")  # stdnum drops the last character: a placeholder


def person(rng: random.Random, month_start: date) -> dict:
    """An adult's name, gender, birth date and passport pinyin."""
    surname = rng.choice(list(PINYIN)) if rng.random() < 0.5 else rng.choice(SURNAMES)
    name = surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    gender = rng.choice("MF")
    birth = month_start - timedelta(days=rng.randrange(18 * 365, 75 * 365))
    return {"name": name, "gender": gender, "birth": birth, "pinyin": PINYIN.get(surname, "ZHOU") + " " + "MING"}


def gender_label(gender: str) -> str:
    """`M`/`F` as the import templates write it."""
    return "男" if gender == "M" else "女"
