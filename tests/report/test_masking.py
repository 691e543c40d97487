"""Personal data is masked in reports and logs; spreadsheet formulas never evaluate (tourlink.masking)."""

from __future__ import annotations

import logging

from tourlink.masking import (
    MaskingFilter,
    escape_formula,
    mask_id,
    mask_issue,
    mask_message,
    mask_phone,
    mask_text,
    mask_value,
    unescape_formula,
)


def test_an_id_number_keeps_its_first_and_last_four_characters():
    assert mask_id("21010219900101123X") == "2101**********123X"
    assert mask_id("210102199001011234") == "2101**********1234"


def test_a_passport_number_hides_at_least_half():
    masked = mask_id("E12345678")
    assert masked == "E1*****78"


def test_a_mobile_keeps_its_first_three_and_last_four_digits():
    assert mask_phone("13812345678") == "138****5678"


def test_mask_value_follows_the_schema_pii_flags():
    assert mask_value("doc_no", "21010219900101123X", entity="group_member") == "2101**********123X"
    assert mask_value("mobile", "13812345678", entity="group_member") == "138****5678"
    assert mask_value("birth_date", "1990-01-01", entity="group_member") == "1990-**-**"
    assert mask_value("id_number", "21010219900101123X", entity="guide") == "2101**********123X"
    # not personal: shown as received
    assert mask_value("group_code", "LN-2026-001", entity="tour_group") == "LN-2026-001"
    assert mask_value("uscc", "91210100MA0TEST01X", entity="travel_agency") == "91210100MA0TEST01X"


def test_numbers_inside_free_text_are_masked_but_longer_codes_are_not():
    text = "证件号码 21010219900101123X 校验位错误，手机 13812345678；统一社会信用代码 912101007825431234X"
    masked = mask_text(text)
    assert "21010219900101123X" not in masked and "2101**********123X" in masked
    assert "138****5678" in masked
    assert "912101007825431234X" in masked


def test_formula_prefixes_are_escaped_and_round_trip():
    for payload in ('=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        escaped = escape_formula(payload)
        assert escaped == "'" + payload
        assert unescape_formula(escaped) == payload
    assert escape_formula("张三") == "张三"
    assert escape_formula(42) == 42


def test_the_log_filter_masks_ids_in_messages(caplog):
    logger = logging.getLogger("tourlink.test.masking")
    logger.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger="tourlink.test.masking"):
        logger.info("row rejected: doc %s", "21010219900101123X")
        logger.info("legacy %s", "210102900101123")
    assert "21010219900101123X" not in caplog.text
    assert "2101**********123X" in caplog.text
    assert "210102900101123" not in caplog.text


def test_an_id_number_glued_to_letters_is_masked_but_a_code_of_the_same_length_is_not():
    assert mask_text("AB21010219900101123X") == "AB2101**********123X"
    assert mask_text("团号SY21010219900101123Xa") == "团号SY2101**********123Xa"
    assert mask_text("旧证210102900101123号") == "旧证2101*******1123号"
    assert mask_text("Tel13812345678") == "Tel138****5678"
    # no ID's shape (division, birth date, sequence): an order or group code stays as received
    assert mask_text("TG202603050000000001") == "TG202603050000000001"
    assert mask_text("91210100MA0SYA001X") == "91210100MA0SYA001X"


def test_a_message_quoting_an_unparsable_birth_date_is_masked_like_the_date():
    message = "出生日期“1975年13月45日”无法识别为日期"
    assert mask_message(message, "birth_date", "1975年13月45日", entity="group_member") == "出生日期“1975年**月**日”无法识别为日期"
    assert mask_message("出生日期“一九七五年”无法识别为日期", "birth_date", None, entity="group_member") == "出生日期“*****”无法识别为日期"
    # quoted without the typographic quotes: the value itself is found and masked
    assert mask_message("出生日期 75/13/45 无效", "birth_date", "75/13/45", entity="group_member") == "出生日期 ******** 无效"
    # not personal: the quoted value stays, an ID inside it does not
    assert mask_message("出发日期“2026/13/01”无法识别为日期", "start_date", "2026/13/01", entity="tour_group") == (
        "出发日期“2026/13/01”无法识别为日期"
    )
    assert mask_message("地接社代码“AB21010219900101123X”校验位错误", "receiving_uscc", "AB21010219900101123X", "tour_group") == (
        "地接社代码“AB2101**********123X”校验位错误"
    )


def test_mask_issue_masks_the_value_and_the_message_of_a_rule_result():
    issue = {"rule": "TYPE", "severity": "ERROR", "field": "birth_date", "value": "1975-13-12", "message": "出生日期“1975-13-12”无法识别为日期"}
    masked = mask_issue(issue, entity="group_member")
    assert masked == {**issue, "value": "1975-**-**", "message": "出生日期“1975-**-**”无法识别为日期"}
