"""A `rest` source whose vendor answers an error inside HTTP 200, an HTML page or a body without the
declared records path fails the sync with a message naming the source, the stream, the request and
what came back, and commits nothing: a sync never succeeds on nothing read from a failing source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from connectors.http.errors import AuthError, ParameterError
from connectors.registry import SourceConfig
from tests.loopback import Loopback
from tourlink import settings
from tourlink.flow import sync

TOURLINK = str(Path(sys.executable).parent / "tourlink")
ENVELOPE = json.dumps({"code": 40001, "msg": "签名错误", "data": None}, ensure_ascii=False).encode()
LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Single Sign-On | Vendor Portal</title></head><body><form></form></body></html>"
OTHER_PATH = json.dumps({"code": 0, "data": {"list": [{"id": "g1", "updated_at": "2026-10-01T08:00:00+08:00"}], "total": 1}}).encode()


class Vendor:
    """A vendor on loopback that answers every request HTTP 200 with one body (and counts them)."""

    def __init__(self, body: bytes, content_type: str = "application/json"):
        self.body, self.content_type, self.requests = body, content_type, []
        self._loopback = Loopback(self._answer)
        self.url = self._loopback.url

    def _answer(self, path: str, headers: object) -> tuple[int, bytes, str]:
        self.requests.append(path)
        return 200, self.body, self.content_type

    def stop(self) -> None:
        self._loopback.stop()


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    box = Vendor(b"")
    yield box
    box.stop()


def rest_source(url: str, **options: object) -> SourceConfig:
    return SourceConfig(
        name="acme_erp", dialect="rest", base_url=url, credentials={"token": "env:ACME_ERP_TOKEN"}, streams=("tour-groups",),
        mapping="jsonapi", options={"paths": {"tour-groups": "/openapi/v1/teams"}, "records": "items", "backoff_seconds": 0.01, **options},
    )


def batches() -> int:
    url = settings.warehouse_url()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM batch")).scalar_one() if sa.inspect(conn).has_table("batch") else 0
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def token(monkeypatch) -> None:
    monkeypatch.setenv("ACME_ERP_TOKEN", "acme-token-never-shown")


def test_an_error_envelope_in_http_200_fails_naming_source_stream_request_and_answer(vendor, tourlink_home):
    vendor.body = ENVELOPE
    with pytest.raises(ParameterError) as failure:
        sync(rest_source(vendor.url))
    message = str(failure.value)
    assert message.startswith("acme_erp/tour-groups GET /openapi/v1/teams"), message
    assert "no records at `items`" in message and "40001" in message and "签名错误" in message, message
    assert "acme-token-never-shown" not in message
    assert len(vendor.requests) == 1, "an answer that cannot be read is not retried"
    assert batches() == 0


def test_a_declared_error_envelope_fails_as_rejected_credentials(vendor, tourlink_home):
    vendor.body = ENVELOPE
    declared = {"error": {"path": "code", "ok": [0], "retry": [42900], "auth": [40001, 40003], "message": "msg"}}
    with pytest.raises(AuthError, match=r"acme_erp/tour-groups GET /openapi/v1/teams.*code 40001 签名错误"):
        sync(rest_source(vendor.url, **declared))
    assert batches() == 0


def test_an_html_login_page_fails_naming_its_title(vendor, tourlink_home):
    vendor.body, vendor.content_type = LOGIN_PAGE, "text/html"
    with pytest.raises(ParameterError, match=r"acme_erp/tour-groups GET /openapi/v1/teams.*HTML page \('Single Sign-On \| Vendor Portal'\)"):
        sync(rest_source(vendor.url))
    assert len(vendor.requests) == 1
    assert batches() == 0


def test_a_body_without_the_declared_records_path_fails_and_the_right_path_reads(vendor, tourlink_home):
    vendor.body = OTHER_PATH
    with pytest.raises(ParameterError, match=r"no records at `items`.*\"list\""):
        sync(rest_source(vendor.url))
    assert batches() == 0
    from connectors.erp import read

    extract = read(rest_source(vendor.url, records="data.list", total="data.total", updated_field="updated_at"), {})
    assert extract.streams == {"tour-groups": 1}


def test_the_sync_command_exits_non_zero_and_says_why(vendor, tourlink_home, tmp_path):
    vendor.body = ENVELOPE
    folder = tmp_path / "registry"
    folder.mkdir()
    source = rest_source(vendor.url)
    spec = {"name": source.name, "dialect": "rest", "base_url": vendor.url, "credentials": source.credentials,
            "streams": list(source.streams), "mapping": source.mapping, "options": source.options}
    (folder / "acme_erp.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    run = subprocess.run([TOURLINK, "sync", "acme_erp", "--registry", str(folder)], env=os.environ.copy(),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "acme_erp/tour-groups GET /openapi/v1/teams" in run.stderr and "no records at `items`" in run.stderr, run.stderr
    assert "acme-token-never-shown" not in run.stderr + run.stdout
    assert batches() == 0


XML_TEAM = '<Response><Head><Code>0000</Code></Head><Body><Team><id>g1</id><XM>{name}</XM><updated_at>2026-10-01T08:00:00+08:00</updated_at></Team></Body></Response>'


def xml_source(url: str, attempts: int = 6, **xml: object) -> SourceConfig:
    return rest_source(url, format="xml", xml={"head": "Head", "records": "Body/Team", **xml}, records=None,
                       updated_field="updated_at", max_attempts=attempts)


@pytest.mark.parametrize(("body", "said"), [
    (XML_TEAM.format(name="张&nbsp;伟").encode(), "the XML body holds the entity reference &nbsp;: entities are not accepted"),
    (XML_TEAM.format(name="<a>" * 1500 + "x" + "</a>" * 1500).encode(), "XML body malformed (Excessive depth"),
    (XML_TEAM.format(name="张伟").encode().replace(b"</Team>", b"</Tem>"), "XML body malformed (Opening and ending tag mismatch"),
])
def test_a_complete_xml_body_refused_is_asked_once_naming_source_stream_request_and_why(vendor, tourlink_home, body, said):
    from connectors.http.errors import BodyRefused

    vendor.body, vendor.content_type = body, "text/xml; charset=UTF-8"
    with pytest.raises(BodyRefused) as failure:
        sync(xml_source(vendor.url))
    message = str(failure.value)
    assert message.startswith("acme_erp/tour-groups GET /openapi/v1/teams"), message
    assert said in message and "acme-token-never-shown" not in message, message
    assert len(vendor.requests) == 1, "a complete body the vendor would send again is not retried"
    assert batches() == 0


def test_a_cut_xml_body_is_retried_until_the_budget_is_spent(vendor, tourlink_home):
    from connectors.http.errors import SourceError

    vendor.body, vendor.content_type = XML_TEAM.format(name="张伟").encode()[:-15], "text/xml"
    with pytest.raises(SourceError, match="XML body incomplete.*gave up after 3 attempts"):
        sync(xml_source(vendor.url, attempts=3))
    assert len(vendor.requests) == 3
    assert batches() == 0


@pytest.mark.parametrize(("declared", "content_type"), [
    ('<?xml version="1.0" encoding="GBK"?>', "text/xml"),
    ("", "text/xml; charset=GBK"),
])
def test_utf8_declared_gbk_is_refused_naming_both_encodings_or_read_as_utf8_when_trusted(vendor, tourlink_home, declared, content_type):
    from connectors.erp import read
    from connectors.http.errors import BodyRefused

    vendor.body, vendor.content_type = (declared + XML_TEAM.format(name="张伟")).encode("utf-8"), content_type
    with pytest.raises(BodyRefused, match=r"acme_erp/tour-groups GET .*declared GBK \(the (XML declaration|Content-Type charset)\) but is UTF-8"):
        sync(xml_source(vendor.url))
    assert len(vendor.requests) == 1 and batches() == 0
    extract = read(xml_source(vendor.url, trust_detected_encoding=True), {})
    assert extract.frames[0].data["XM"].to_list() == ["张伟"]  # not 寮犱紵
    vendor.body = (declared + XML_TEAM.format(name="张伟")).encode("gbk")  # rightly labelled GBK reads as GBK
    assert read(xml_source(vendor.url), {}).frames[0].data["XM"].to_list() == ["张伟"]
