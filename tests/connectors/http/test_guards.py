"""Pagination that does not add up fails the sync loudly instead of silently losing rows."""

from __future__ import annotations

import pytest

from connectors.http import pagination
from connectors.http.errors import PaginationError, TotalMismatch
from connectors.http.pagination import Page


def _rows(*ids):
    return [{"id": i} for i in ids]


def test_a_page_repeating_the_previous_one_fails():
    fetch = lambda n: Page(_rows(1, 2), b"", total=10)  # the server ignores pageNo  # noqa: E731
    with pytest.raises(PaginationError, match="repeats"):
        list(pagination.page_number(fetch, page_size=2, key=lambda r: r["id"], where="s/teams"))


def test_rows_read_short_of_the_announced_total_fail():
    pages = {1: _rows(1, 2), 2: _rows(3), 3: []}
    with pytest.raises(TotalMismatch, match="announced 5"):
        list(pagination.page_number(lambda n: Page(pages[n], b"", total=5), page_size=2, key=lambda r: r["id"], where="s/teams"))


def test_a_total_that_changes_between_pages_fails():
    totals = {1: 4, 2: 3}
    pages = {1: _rows(1, 2), 2: _rows(3)}
    with pytest.raises(TotalMismatch, match="changed"):
        list(pagination.page_number(lambda n: Page(pages[n], b"", total=totals[n]), page_size=2, key=lambda r: r["id"], where="s"))


def test_a_cursor_loop_fails():
    pages = {None: Page(_rows(1), b"", next_cursor="a"), "a": Page(_rows(2), b"", next_cursor="b"), "b": Page(_rows(3), b"", next_cursor="a")}
    with pytest.raises(PaginationError, match="cursor returned twice"):
        list(pagination.cursor(lambda c: pages[c], key=lambda r: r["id"], where="s/groups"))


def test_duplicates_across_pages_count_once_against_the_total():
    pages = {1: _rows(1, 2), 2: _rows(2, 3, 4)}
    read = list(pagination.page_number(lambda n: Page(pages[n], b"", total=4), page_size=2, key=lambda r: r["id"], where="s"))
    assert len(read) == 2
