"""The `rest` dialect (configuration only) read against the JSON:API vendor's sandbox: JSON:API
records, loud when pages do not add up or a next link loops, secrets never shown. Nothing is loaded."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import pytest

from connectors import rest
from connectors.erp import read
from connectors.http.errors import AuthError, PaginationError, SourceError, TotalMismatch
from connectors.registry import get_source
from devkit.onboarding.check import SandboxSource, sandboxed


def sync(source):  # noqa: ANN001, ANN201 - the reader alone, from an empty state
    return read(source, {})


@pytest.fixture
def jsonapi() -> Iterator[SandboxSource]:
    with sandboxed(get_source("sandbox_jsonapi")) as box:
        yield box


def test_jsonapi_resources_become_records_with_their_included_relationships() -> None:
    payload = {
        "data": [{"type": "tour-groups", "id": "g1", "attributes": {"tour-code": "T1"},
                  "relationships": {"travelers": {"data": [{"type": "travelers", "id": "t1"}]}, "leader": {"data": {"type": "escorts", "id": "e1"}}}}],
        "included": [{"type": "travelers", "id": "t1", "attributes": {"full-name": "王伟"}},
                     {"type": "escorts", "id": "e1", "attributes": {"duty": "leader"}}],
    }
    assert rest.jsonapi_records(payload) == [
        {"id": "g1", "tour-code": "T1", "travelers": [{"id": "t1", "full-name": "王伟"}], "leader": [{"id": "e1", "duty": "leader"}]}
    ]


def test_a_next_link_that_loops_fails_the_sync_loudly(jsonapi, tourlink_home) -> None:
    looping = dataclasses.replace(jsonapi.source, options={**jsonapi.source.options, "next": "links.self"})
    with pytest.raises(PaginationError, match="repeats|twice"):
        sync(looping)


def test_rows_that_do_not_add_up_to_the_announced_total_fail(jsonapi, tourlink_home) -> None:
    def walked(records: list[dict], total: int) -> list:
        pages = iter([rest.Page(records, b"", total=total, next_cursor=None)])
        return list(rest._totalled(pages, lambda r: r["id"], "vendor/groups"))

    assert len(walked([{"id": 1}, {"id": 2}], 2)) == 1
    with pytest.raises(TotalMismatch, match="read 2 distinct records but the source announced 3"):
        walked([{"id": 1}, {"id": 2}], 3)


def test_a_wrong_token_fails_at_once_and_no_message_shows_it(jsonapi, tourlink_home, monkeypatch, caplog) -> None:
    monkeypatch.setenv("SANDBOX_JSONAPI_TOKEN", "wrong-token-do-not-print")
    caplog.set_level(logging.DEBUG)
    with pytest.raises((AuthError, SourceError)) as failure:
        sync(jsonapi.source)
    assert "wrong-token-do-not-print" not in str(failure.value)
    assert "wrong-token-do-not-print" not in caplog.text
    assert len(jsonapi.sandbox.requests) <= 2, "a rejected token is not retried until the budget runs out"
