"""Every ERP dialect of SOURCES.md is a declaration: each sandbox vendor read as a `rest` source
whose registry options are nothing but its preset's YAML equals what the vendor holds (page number +
total and HMAC query signing; cursor, OAuth2, dependent members and tombstones; offset paging, the
MD5 day token and GBK XML in a namespace). No vendor has Python of its own."""

from __future__ import annotations

import dataclasses

import pytest

from connectors import erp
from connectors.declarative import preset
from devkit.conformance import differences, extract


def as_rest(box):  # noqa: ANN001, ANN201 - the sandbox's source declared as a `rest` registry file
    return dataclasses.replace(box.source, dialect="rest", options={**preset(box.source.dialect), **box.source.options})


@pytest.mark.parametrize("fixture", ["sandbox_signed_json", "sandbox_oauth_cursor", "sandbox_legacy_xml"])
def test_a_sandbox_vendor_declared_in_yaml_alone_reads_exactly_its_data(fixture, request, tourlink_home):
    box = request.getfixturevalue(fixture)
    if fixture == "sandbox_oauth_cursor":
        box.sandbox.faults.expire_token_after = 5  # tokens renewed while members are fetched in flight
    assert differences(extract(as_rest(box)), box.sandbox.ground_truth()) == []


def test_the_preset_classes_describe_their_streams_for_the_dev_kit():
    assert erp.SignedJson.streams == {"teams": "/openapi/v1/teams", "contracts": "/openapi/v1/contracts"}
    assert erp.OAuthCursor.list_columns == ("members", "guides", "travellers", "countries")
    assert erp.LegacyXml.extension == "xml"


def test_a_registry_option_overrides_its_preset(sandbox_signed_json, tourlink_home):
    box = sandbox_signed_json
    source = dataclasses.replace(box.source, options={**box.source.options, "paging": {"max_size": 5}, "page_size": 50})
    result = erp.read(source, {})
    assert result.pages == -(-30 // 5) + -(-len(box.sandbox.data.contracts) // 5)


def test_an_after_id_feed_with_gateway_signatures_is_a_declaration_too(monkeypatch, tourlink_home):
    from connectors.registry import SourceConfig
    from devkit.sandbox.gov_portal_server import PortalEmulator, seed_events

    monkeypatch.setenv("FEED_KEY", "feed-key")
    monkeypatch.setenv("FEED_SECRET", "feed-secret")
    declared = {
        "auth": "gateway-hmac", "resources": {"events": {"path": "/gateway/licensing/events"}},
        "error": {"path": "success", "ok": [True], "message": "message"}, "records": "result.events",
        "paging": {"style": "after-id", "param": "afterId", "next": "result.lastId", "more": "result.hasMore", "size_param": "size", "max_size": 100},
        "updated": {"field": "receivedTime"}, "page_size": 4,
    }
    events = seed_events()
    with PortalEmulator(key="feed-key", secret="feed-secret", events=events) as portal:
        source = SourceConfig(name="feed", dialect="rest", base_url=portal.base_url, streams=("events",), mapping="gov_portal",
                              credentials={"gateway_key": "env:FEED_KEY", "gateway_secret": "env:FEED_SECRET"}, options=declared)
        result = erp.read(source, {})
        assert portal.rejected_signatures == 0
    assert result.streams == {"events": len(events)}
    assert result.pages == -(-len(events) // 4)
