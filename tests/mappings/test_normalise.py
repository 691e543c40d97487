"""SPEC section 1: how identifiers, names and text are normalised, and which cells count as empty."""

from __future__ import annotations

import polars as pl
import pytest

from mappings.normalise import normalise, normalise_header, placeholders_to_null


def _run(values: list[str | None], norm: str) -> list[str | None]:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(
        placeholders_to_null(normalise(pl.col("v"), norm))
    ).to_series().to_list()


def test_codes_are_half_width_trimmed_upper_case_without_inner_spaces():
    assert _run(["  ２１０１０２ １９９００１０１１２３ｘ ", "l－ln－cj00012", "e 1234 5678"], "code") == [
        "21010219900101123X", "L-LN-CJ00012", "E12345678",
    ]


@pytest.mark.parametrize("dash", ["－", "—", "–", "‑", "−"])
def test_codes_unify_every_dash(dash):
    assert _run([f"D{dash}2020{dash}000001"], "code") == ["D-2020-000001"]


def test_ideographic_space_is_removed_from_codes():
    assert _run(["ＴＧ\u3000001"], "code") == ["TG001"]


def test_chinese_names_lose_inner_spaces_and_unify_the_middle_dot():
    assert _run([" 张 三 ", "阿卜杜•热合曼", "买买提・艾力", "玛丽‧安"], "name") == [
        "张三", "阿卜杜·热合曼", "买买提·艾力", "玛丽·安",
    ]


def test_latin_names_keep_one_space_between_words():
    assert _run(["  JOHN   SMITH "], "name") == ["JOHN SMITH"]


def test_names_and_text_are_nfc():
    decomposed = "Jose\u0301"
    assert _run([decomposed], "name") == ["José"]
    assert _run([f" {decomposed} "], "text") == ["José"]


@pytest.mark.parametrize("placeholder", ["", "  ", "-", "—", "/", "无", "暂无", "N/A", "n/a", "null", "NULL", "未填写"])
@pytest.mark.parametrize("norm", ["code", "name", "text"])
def test_null_placeholders_become_null(placeholder, norm):
    assert _run([placeholder, None], norm) == [None, None]


def test_real_values_are_not_placeholders():
    assert _run(["无锡", "N/A1"], "text") == ["无锡", "N/A1"]


@pytest.mark.parametrize("header", ["姓名", " 姓 名 ", "*姓名", "姓名(必填)", "姓名（必填）", "姓名*（必填）"])
def test_headers_match_after_dropping_spaces_stars_and_notes(header):
    assert normalise_header(header) == "姓名"


def test_clean_values_pass_untouched_and_only_dirty_ones_are_normalised():
    from mappings.normalise import normalised_value

    values = ["210102199001011234", " e1234 5678 ", "N/A", "NULL", "TG－001", None, "ＡＢＣＤＥ"]
    codes = pl.DataFrame({"v": values}).select(normalised_value(pl.col("v"), "code")).to_series().to_list()
    assert codes == ["210102199001011234", "E12345678", None, None, "TG-001", None, "ABCDE"]
    names = pl.DataFrame({"v": ["张三", "张 三", "无", "暂无", "阿卜杜•热合曼"]}).select(
        normalised_value(pl.col("v"), "name")).to_series().to_list()
    assert names == ["张三", "张三", None, None, "阿卜杜·热合曼"]


def test_names_with_a_chinese_character_and_nothing_to_fix_pass_untouched_and_the_rest_are_normalised():
    from mappings.normalise import normalised_value

    values = ["买买提·艾力", "游客12", "王 伟 ", "阿卜杜‧热合曼", "e\u0301李", "未填写", " Zhang  San ", "null"]
    names = pl.DataFrame({"v": values}).select(normalised_value(pl.col("v"), "name")).to_series().to_list()
    assert names == ["买买提·艾力", "游客12", "王伟", "阿卜杜·热合曼", "é李", None, "Zhang San", None]


TRICKY = ["2026-05-01", " 2026-05-01 ", "\u30002026-05-01", "N/A", " n/a ", "Null", "NULL      ", "  null", "无",
          " 暂无 ", "未填写", "-", "—", "/", "", "   ", "e\u0301cole du soir", "cafe\u0301", "a\tb", "Ωmega value",
          "ＴＧ－００１", "TG\u2013001", "tg\u2011 001", "TG\u2014001 B", " Zhang  San ", "张 三", "TG-001",
          "longer than nine", "NULLNULLNULL", None]


@pytest.mark.parametrize("norm", ["code", "name", "text"])
def test_the_clean_value_shortcut_gives_what_the_full_normalisation_gives(norm):
    from mappings.normalise import normalise, normalised_value, placeholders_to_null

    df = pl.DataFrame({"v": TRICKY}, schema={"v": pl.String})
    full = df.select(placeholders_to_null(normalise(pl.col("v"), norm))).to_series().to_list()
    fast = df.select(normalised_value(pl.col("v"), norm)).to_series().to_list()
    assert fast == full


def test_placeholders_are_found_trimmed_and_case_folded_whatever_their_length_before_trimming():
    from mappings.normalise import NULL_PLACEHOLDERS, placeholders_to_null

    values = ["NULL", " Null ", "\u3000无\u3000", "N/A", "  n/A  ", "          null          ", "ＮＵＬＬ", "NULLS",
              " 未填写 ", "暂无的", "—", " - ", "\u212a", "nul l", "", None, "a long value with null inside"]
    got = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(placeholders_to_null(pl.col("v"))).to_series()
    expected = [None if v is None or v.strip().lower() in NULL_PLACEHOLDERS else v for v in values]
    assert got.to_list() == expected
