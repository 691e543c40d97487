"""append_issues: the merge every row and batch rule goes through."""

from __future__ import annotations

import polars as pl

from tourlink.frames import ISSUES, ISSUES_DTYPE
from validators.checks import Check, append_issues


def _issue(rule: str, value: str | None) -> dict:
    severity = "WARN" if rule == "LICENCE_FORMAT" else "ERROR"
    return {"rule": rule, "severity": severity, "field": "x", "value": value, "message": f"{rule} message"}


def _frame_with_issues(xs: list[int | None], issues: list[list[dict]]):
    return pl.DataFrame({"x": pl.Series(xs, dtype=pl.Int64), ISSUES: pl.Series(issues, dtype=ISSUES_DTYPE)})


def _check(rule: str, failed):
    return Check(rule, "x", failed, pl.col("x").cast(pl.String), f"{rule} message")


def test_a_frame_where_no_row_fails_keeps_its_issues_untouched():
    earlier = [[_issue("TYPE", "a")], [], [_issue("CODE_LIST", "b"), _issue("TYPE", "c")]]
    df = _frame_with_issues([1, None, 3], earlier)
    checks = [_check("POSITIVE", pl.col("x") < 0), _check("NON_NEGATIVE", pl.col("x") > 10)]  # null x: null → passes
    out = append_issues(df, checks)
    assert out is df
    assert out["_issues"].to_list() == earlier


def test_several_failing_checks_follow_a_rows_earlier_issues_in_check_order():
    df = _frame_with_issues([5, 1, 7, None], [[_issue("TYPE", "t")], [_issue("TYPE", "u")], [], []])
    checks = [
        _check("POSITIVE", pl.col("x") > 4),  # rows 0, 2
        _check("LICENCE_FORMAT", pl.col("x") == 7),  # row 2
        _check("DATE_ORDER", pl.col("x").is_in([5, 7])),  # rows 0, 2
    ]
    out = append_issues(df, checks)
    assert out.columns == df.columns
    assert out["_issues"].to_list() == [
        [_issue("TYPE", "t"), _issue("POSITIVE", "5"), _issue("DATE_ORDER", "5")],
        [_issue("TYPE", "u")],
        [_issue("POSITIVE", "7"), _issue("LICENCE_FORMAT", "7"), _issue("DATE_ORDER", "7")],
        [],
    ]


def test_a_check_decides_on_the_whole_frame_even_though_only_failing_rows_build_issues():
    df = _frame_with_issues([1, 2, 1, 3], [[], [], [], []])
    checks = [_check("DUPLICATE_IN_GROUP", pl.col("x").is_duplicated()), _check("CITY_CODE", pl.col("x") == 3)]
    out = append_issues(df, checks)
    assert out["_issues"].to_list() == [[_issue("DUPLICATE_IN_GROUP", "1")], [], [_issue("DUPLICATE_IN_GROUP", "1")], [_issue("CITY_CODE", "3")]]
