"""Quarantined rows split into the mapping's problems (systematic) and the vendor's records (isolated)."""

from __future__ import annotations

from devkit.onboarding.findings import classify


def issue(entity: str, row: int, rule: str, field: str | None, value: str | None = None, at: int | None = None) -> dict:
    return {"entity": entity, "file": "teams.json", "row": row, "rule": rule, "field": field,
            "value_key": value, "message": f"{rule} message", "at": (0, row if at is None else at)}


def test_a_rule_failing_on_a_large_share_of_rows_is_the_mappings_problem() -> None:
    found = classify({"tour_group": 10}, [issue("tour_group", r, "TYPE", "start_date", f"v{r}") for r in range(3)])
    assert [f.label for f in found.mapping] == ["tour_group.start_date TYPE"] and found.data == []


def test_an_isolated_failure_is_the_vendors_record() -> None:
    found = classify({"tour_group": 10}, [issue("tour_group", 4, "USCC_CHECKSUM", "organizer_uscc", "x")])
    assert found.mapping == [] and found.bad_rows == {"tour_group": 1}


def test_an_unknown_code_on_two_rows_is_the_mappings_problem_even_when_rare() -> None:
    found = classify({"tour_group": 100}, [issue("tour_group", r, "CODE_LIST", "status", "7") for r in (1, 9)])
    assert [f.label for f in found.mapping] == ["tour_group.status CODE_LIST"]


def test_orphans_are_counted_per_child_row_apart_from_bad_records() -> None:
    orphans = [issue("group_member", 6, "ORPHAN", None, at=i) for i in range(4)]
    found = classify({"tour_group": 10, "group_member": 40}, [issue("tour_group", 6, "USCC_CHECKSUM", "organizer_uscc", "x"), *orphans])
    assert found.bad_rows == {"tour_group": 1} and found.held_back == {"group_member": 4}
