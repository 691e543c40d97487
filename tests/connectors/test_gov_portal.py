"""The `gov-portal` reader alone: signed pages after the last id it is handed, raw bodies and the new
last id returned, nothing loaded; retries through the shared HTTP client, a wrong signature refused."""

from __future__ import annotations

import pytest

from connectors import gov_portal
from connectors.reading import Window
from connectors.registry import SourceConfig
from devkit.sandbox.gov_portal_server import PortalEmulator, seed_events

KEY, SECRET = "portal-key", "portal-secret-不要外泄"


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setenv("TEST_PORTAL_KEY", KEY)
    monkeypatch.setenv("TEST_PORTAL_SECRET", SECRET)


def _source(portal: PortalEmulator, **options) -> SourceConfig:
    return SourceConfig(
        name="gov_portal_test", dialect="gov-portal", base_url=portal.base_url,
        credentials={"gateway_key": "env:TEST_PORTAL_KEY", "gateway_secret": "env:TEST_PORTAL_SECRET"},
        options={"page_size": 4, **options},
    )


def test_a_read_returns_every_event_after_the_state_its_bodies_and_the_new_last_id(credentials, tourlink_home):
    events = seed_events()
    with PortalEmulator(key=KEY, secret=SECRET, events=events) as portal:
        portal.fail_next(503, 502)  # retried by the shared client's policy
        first = gov_portal.read(_source(portal), {}, Window())
        again = gov_portal.read(_source(portal), first.state, Window())
        refreshed = gov_portal.read(_source(portal), first.state, Window(full_refresh=True))
    assert first.streams["events"] == len(events) == first.rows
    assert first.pages == len(first.raw) == -(-len(events) // 4)
    assert list(first.state) == ["events"] and int(first.state["events"]) > 0 and first.mapping == "gov_portal"
    assert (again.streams["events"], again.frames, again.raw, again.state) == (0, [], [], {})
    assert refreshed.streams == first.streams
    assert not (tourlink_home / "warehouse.db").exists(), "a reader never opens the warehouse"


def test_a_wrong_signature_fails_at_once_without_the_secret_in_the_message(credentials, monkeypatch):
    monkeypatch.setenv("TEST_PORTAL_SECRET", "not-the-secret")
    with PortalEmulator(key=KEY, secret=SECRET, events=seed_events()) as portal:
        with pytest.raises(gov_portal.PortalAuthError, match="HTTP 401") as failure:
            gov_portal.read(_source(portal), {}, Window())
        assert portal.rejected_signatures == 1
    assert "not-the-secret" not in str(failure.value)


def test_max_pages_ends_a_run_and_the_next_goes_on_from_its_last_id(credentials):
    events = seed_events()
    with PortalEmulator(key=KEY, secret=SECRET, events=events) as portal:
        first = gov_portal.read(_source(portal, max_pages=1), {}, Window())
        assert (first.pages, first.requests, portal.requests) == (1, 1, 1)  # no page fetched beyond the limit
        rest = gov_portal.read(_source(portal), first.state, Window())
    assert first.state == {"events": "1004"}  # the feed numbers its events from 1001
    assert first.streams["events"] + rest.streams["events"] == len(events)


def test_the_feed_is_the_gov_portal_preset_read_by_the_declarative_reader():
    from connectors import dialects
    from connectors.declarative import Declarative, preset

    assert preset("gov-portal")["paging"]["style"] == "after-id" and preset("gov-portal")["auth"] == "gateway-hmac"
    assert issubclass(gov_portal.GovPortal, Declarative) and gov_portal.GovPortal.streams == {"events": "/gateway/licensing/events"}
    assert dialects.spec("gov-portal").auth == "connectors.declarative:source_auth"
