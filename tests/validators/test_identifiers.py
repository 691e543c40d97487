"""Identifier rules (SPEC section 3): resident IDs, USCC, documents, phones, divisions."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from stdnum.cn import uscc as stdnum_uscc

from tests.validators.conftest import TODAY, frame, ric, rule_ids, rules_of, uscc, wrong_check
from validators import validate
from validators.identifiers import mod11_2_check, uscc_valid


def member(**fields) -> dict:
    row = dict(organizer_uscc=uscc(), group_code="G1", seq_no=1, name="张三", gender="M",
               birth_date=date(1975, 3, 15), doc_type="CN_RIC", doc_no=ric(seq=123), nationality="CHN")
    row.update(fields)
    return row


def check_members(*rows: dict) -> pl.DataFrame:
    return validate("group_member", frame("group_member", list(rows)), today=TODAY)


def test_a_genuine_shenyang_heping_id_born_1975_passes_without_errors():
    # stdnum ties 210102 to its 1983 creation and rejects this number; we must not.
    df = check_members(member())
    assert all(i["severity"] == "WARN" for i in df["_issues"][0]), df["_issues"][0]
    assert rule_ids(df) == set()


def test_the_check_character_matches_the_published_example():
    df = pl.DataFrame({"n": ["11010519491231002"]})
    assert df.select(mod11_2_check(pl.col("n")).alias("check"))["check"][0] == "X"


def test_a_wrong_check_character_is_ric_checksum():
    df = check_members(member(doc_no=wrong_check(ric())))
    assert rules_of(df) == {("RIC_CHECKSUM", "doc_no")}
    assert df["_issues"][0][0]["message"] == "证件号码校验位错误，请核对第18位"


@pytest.mark.parametrize("number", ["21010219750315123", "2101021975031512Y", "ABC", "2101021975031512345"])
def test_a_malformed_id_is_ric_format_only(number):
    df = check_members(member(doc_no=number))
    assert rule_ids(df) == {"RIC_FORMAT"}


def test_a_15_digit_legacy_id_is_upgraded_with_a_warning():
    df = check_members(member(doc_no="210102500101123", birth_date=date(1950, 1, 1), gender="M"))
    assert df["doc_no"][0] == "210102195001011239"  # SPEC's worked example
    [issue] = df["_issues"][0]
    assert (issue["rule"], issue["severity"], issue["value"]) == ("RIC_LEGACY_15", "WARN", "210102500101123")


@pytest.mark.parametrize("birth", ["19750230", "18790101", "20300101"])
def test_an_impossible_birth_date_inside_the_id_is_ric_birth_date(birth):
    df = check_members(member(doc_no=ric(birth=birth), birth_date=None))
    assert "RIC_BIRTH_DATE" in rule_ids(df)


def test_an_unknown_province_is_an_error():
    df = check_members(member(doc_no=ric(address="990102")))
    assert "RIC_PROVINCE" in rule_ids(df)


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_residence_permit_prefixes_pass_the_province_check(prefix):
    df = check_members(member(doc_no=ric(address=prefix)))
    assert rule_ids(df) == set()


def test_a_county_code_that_never_existed_is_only_a_warning():
    df = check_members(member(doc_no=ric(address="219999")))
    [issue] = df["_issues"][0]
    assert (issue["rule"], issue["severity"]) == ("RIC_COUNTY_UNKNOWN", "WARN")


def test_an_abolished_county_code_is_still_a_known_address_code():
    df = check_members(member(doc_no=ric(address="110103", birth="19600101"), birth_date=date(1960, 1, 1)))  # 崇文区, gone 2010
    assert rule_ids(df) == set()


def test_gender_and_birth_date_must_agree_with_the_id():
    df = check_members(member(gender="F", birth_date=date(1975, 3, 16)))
    assert rules_of(df) == {("RIC_GENDER_MISMATCH", "gender"), ("RIC_BIRTH_MISMATCH", "birth_date")}


def test_guide_id_numbers_always_follow_the_ric_rules():
    rows = [dict(guide_card_no="D-2101-000001", name="王导", id_number=ric(seq=124), gender="M"),
            dict(guide_card_no="D-2101-000002", name="赵导", id_number=wrong_check(ric()))]
    df = validate("guide", frame("guide", rows), today=TODAY)
    assert "RIC_GENDER_MISMATCH" in rule_ids(df, 0)
    assert "RIC_CHECKSUM" in rule_ids(df, 1)


@pytest.mark.parametrize(("doc_type", "good", "bad"), [
    ("CN_PASSPORT", "EA1234567", "X1234567"),
    ("CN_PASSPORT", "E12345678", "EO1234567"),
    ("EEP_HK_MO", "C12345678", "C1234567"),
    ("EEP_TW", "L12345678", "A12345678"),
    ("HRP_HK_MO", "H1234567801", "H123"),
    ("MTP_TW", "12345678", "1234567"),
    ("RP_HK_MO_TW", ric(address="830000", birth="19900101"), wrong_check(ric(address="830000"))),
    ("FOREIGN_PR_ID", ric(address="900000", birth="19900101"), wrong_check(ric(address="900000"))),
    ("FOREIGN_PASSPORT", "P1234567", "P1"),
])
def test_other_documents_get_a_format_warning(doc_type, good, bad):
    df = check_members(member(doc_type=doc_type, doc_no=good, nationality="JPN"),
                       member(doc_type=doc_type, doc_no=bad, nationality="JPN", seq_no=2))
    assert rule_ids(df, 0) == set()
    assert [(i["rule"], i["severity"]) for i in df["_issues"][1]] == [("DOC_FORMAT", "WARN")]


def test_uscc_allows_letters_in_the_first_two_positions_and_rejects_a_wrong_check():
    codes = [uscc(), uscc("A1210102MA0XXXXX0"), wrong_check(uscc()), "91110000600037341", "9111000060003734IL"]
    df = pl.DataFrame({"c": codes}).select(uscc_valid(pl.col("c")).alias("c"))
    assert df["c"].to_list() == [True, True, False, False, False]


def test_uscc_agrees_with_stdnum_on_digit_led_codes():
    bodies = [f"9121{n:06d}MA0{n % 97:05d}X"[:17] for n in range(0, 500_000, 997)]
    candidates = [b + c for b in bodies for c in "0123456789AX"]
    ours = pl.DataFrame({"c": candidates}).select(uscc_valid(pl.col("c")).alias("c"))["c"].to_list()
    assert ours == [stdnum_uscc.is_valid(c) for c in candidates]
    assert 0 < sum(ours) < len(ours)


def test_uscc_agrees_with_stdnum_with_any_symbol_of_the_alphabet_in_any_position():
    """Every symbol's value counts (the check is computed by arithmetic on base-36 values, the letters
    GB 32100 skips taken out); letters outside the alphabet (I, O, S, V, Z) never pass."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    bodies = ["".join(alphabet[(n * 7 + i * (n % 5 + 1)) % 31] for i in range(17)) for n in range(400)]
    candidates = [b + c for b in bodies for c in alphabet]
    ours = pl.DataFrame({"c": candidates}).select(uscc_valid(pl.col("c")).alias("c"))["c"].to_list()
    assert ours == [c[17] == stdnum_uscc.calc_check_digit(c[:17]) for c in candidates]  # is_valid also wants a division code
    assert sum(ours) == len(bodies)  # exactly one check symbol fits each body
    skipped = [uscc()[:position] + letter + uscc()[position + 1:] for position in (2, 9, 17) for letter in "IOSVZ"]
    assert not any(pl.DataFrame({"c": skipped}).select(uscc_valid(pl.col("c")))["c"].to_list())


def test_a_group_with_a_bad_organizer_uscc_is_rejected():
    rows = [dict(group_code="G1", organizer_uscc=wrong_check(uscc()), group_type="DOMESTIC")]
    df = validate("tour_group", frame("tour_group", rows), today=TODAY)
    assert ("USCC_CHECKSUM", "organizer_uscc") in rules_of(df)


@pytest.mark.parametrize(("mobile", "ok"), [("13800138000", True), ("+86 138-0013-8000", True),
                                            ("0086 13800138000", True), ("12800138000", False), ("024-12345678", False)])
def test_mobile_numbers_are_checked_after_stripping_the_country_code(mobile, ok):
    df = check_members(member(mobile=mobile))
    assert ("MOBILE_FORMAT" not in rule_ids(df)) is ok


@pytest.mark.parametrize(("card", "ok"), [("D-2101-123456", True), ("L-2101-123456", True), ("D2101123456", False)])
def test_guide_card_numbers(card, ok):
    df = validate("guide_app_day", frame("guide_app_day", [dict(guide_card_no=card, date=TODAY, opened=True)]), today=TODAY)
    assert (rule_ids(df) == set()) is ok
    assert rule_ids(df) <= {"GUIDE_CARD_FORMAT"}


def test_the_mobile_regex_on_raw_numbers_equals_stripping_then_matching():
    import itertools

    from validators.identifiers import MOBILE_AS_RECEIVED_PATTERN, MOBILE_PATTERN, mobile_digits

    prefixes = ["", "+86", "0086", "+8 6", "86", "+86+86", "00 86-"]
    bodies = ["13800138000", "138 0013 8000", "138-0013-8000", "12800138000", "1380013800", "138001380001", "1A800138000"]
    candidates = [p + sep + b + tail for p, sep, b, tail in itertools.product(prefixes, ["", " ", "-"], bodies, ["", " "])]
    df = pl.DataFrame({"m": candidates}).select(
        raw=pl.col("m").str.contains(MOBILE_AS_RECEIVED_PATTERN),
        stripped=mobile_digits(pl.col("m")).str.contains(MOBILE_PATTERN),
    )
    assert df["raw"].to_list() == df["stripped"].to_list()
    assert 0 < df["raw"].sum() < len(df)
