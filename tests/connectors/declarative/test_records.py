"""Records are where the declaration says, or the answer is an error: a JSON path, an XML record
path in declared namespaces (GBK, entities never expanded, nothing fetched)."""

from __future__ import annotations

import pytest

from connectors.declarative.records import json_records, xml_page
from connectors.http.errors import BodyRefused, ParameterError, RetryableError

LEGACY = {"namespaces": {"t": "http://erp.example.cn/export/teams"}, "head": "t:Head", "records": "t:Body/t:Team", "lists": ["Guests"]}


def gbk(text: str) -> bytes:
    return ('<?xml version="1.0" encoding="GBK"?>' + text).encode("gbk")


def test_gbk_records_in_a_declared_namespace_are_read():
    body = gbk('<Response xmlns="http://erp.example.cn/export/teams"><Head><Code>0000</Code><Total>1</Total></Head>'
               "<Body><Team><XM>张伟</XM><Guests><Guest><XH>1</XH></Guest></Guests></Team></Body></Response>")
    page = xml_page(body, "v", LEGACY)
    assert page.head == {"Code": "0000", "Total": "1"}
    assert page.records == [{"XM": "张伟", "Guests": [{"XH": "1"}]}]


def test_an_empty_page_has_its_container_and_another_namespace_is_an_error():
    empty = gbk('<Response xmlns="http://erp.example.cn/export/teams"><Head><Code>0000</Code></Head><Body/></Response>')
    assert xml_page(empty, "v", LEGACY).records == []
    with pytest.raises(ParameterError, match="no t:Head element"):
        xml_page(gbk('<Response xmlns="urn:other"><Head><Code>0000</Code></Head><Body/></Response>'), "v", LEGACY)
    with pytest.raises(ParameterError, match="no records at t:Body/t:Team"):
        xml_page(gbk('<Response xmlns="http://erp.example.cn/export/teams"><Head><Code>0000</Code></Head></Response>'), "v", LEGACY)


def test_entities_are_not_expanded_nothing_is_fetched_and_a_cut_body_is_retried():
    body = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "AAAAAAAAAA"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY x SYSTEM "file:///etc/passwd">]><Response><Head><Code>0000</Code></Head>'
            b"<Body><Team><TDH>&b;</TDH><XM>&x;</XM></Team></Body></Response>")
    with pytest.raises(BodyRefused, match="entity reference &b;: entities are not accepted") as refused:
        xml_page(body, "v", {"head": "Head", "records": "Body/Team"})
    assert "AAAAAAAAAA" not in str(refused.value) and "root:" not in str(refused.value)
    with pytest.raises(RetryableError, match="incomplete"):  # cut in the DTD
        xml_page(body[: len(body) // 2], "v", {"head": "Head", "records": "Body/Team"})


SIMPLE = {"head": "Head", "records": "Body/Team"}


def _body(tdh: bytes) -> bytes:
    return b'<?xml version="1.0"?><Response><Head><Code>0000</Code></Head><Body><Team><TDH>' + tdh + b"</TDH></Team></Body></Response>"


@pytest.mark.parametrize("reference", [b"&foo;", b"&nbsp;", b"a&copy;b"])
def test_an_undeclared_entity_reference_is_refused_naming_it_not_read_as_empty(reference):
    with pytest.raises(BodyRefused, match=r"v: the XML body holds the entity reference &\w+;: entities are not accepted"):
        xml_page(_body(reference), "v", SIMPLE)
    assert xml_page(_body(b"a&amp;b&#160;&#x4e2d;"), "v", SIMPLE).records == [{"TDH": "a&b\xa0中"}]


def test_a_declared_entity_is_refused_not_turned_into_an_empty_record():
    body = b'<?xml version="1.0"?><!DOCTYPE Response [<!ENTITY foo "x">]>' + _body(b"&foo;").split(b"?>", 1)[1]
    with pytest.raises(BodyRefused, match="entity reference &foo;"):
        xml_page(body, "v", SIMPLE)


def test_complete_but_broken_xml_is_refused_a_cut_one_retried():
    broken = _body(b"x").replace(b"</Team>", b"</Tem>")
    with pytest.raises(BodyRefused, match="malformed .*mismatch"):
        xml_page(broken, "v", SIMPLE)
    whole = _body(b"x")
    for cut in (len(whole) - 1, len(whole) - 11, len(whole) // 2, 30):  # in the root's end tag, before it, …
        with pytest.raises(RetryableError, match="incomplete"):
            xml_page(whole[:cut], "v", SIMPLE)


def test_utf8_declared_gbk_is_refused_naming_both_or_read_as_utf8_when_trusted():
    body = '<?xml version="1.0" encoding="GBK"?><Response><Head><Code>0000</Code></Head><Body><Team><XM>张伟</XM></Team></Body></Response>'.encode()
    with pytest.raises(BodyRefused, match=r"declared GBK \(the XML declaration\) but is UTF-8 \(2 CJK characters"):
        xml_page(body, "v", SIMPLE)
    assert xml_page(body, "v", SIMPLE | {"trust_detected_encoding": True}).records == [{"XM": "张伟"}]
    bare = body.split(b"?>", 1)[1]
    with pytest.raises(BodyRefused, match=r"declared GBK \(the Content-Type charset\)"):
        xml_page(bare, "v", SIMPLE, charset="gbk")
    assert xml_page(bare.decode().encode("gbk"), "v", SIMPLE, charset="gbk").records == [{"XM": "张伟"}]  # a right label
    assert xml_page(gbk(bare.decode()), "v", SIMPLE).records == [{"XM": "张伟"}]
    assert xml_page(bare, "v", SIMPLE, charset="iso-8859-1").records == [{"XM": "张伟"}]  # a server's default label
    assert xml_page("<Response><Head/><Body><Team><XM>José</XM></Team></Body></Response>".encode("latin-1"), "v", SIMPLE,
                    charset="iso-8859-1").records == [{"XM": "José"}]


def test_a_json_path_must_exist_and_hold_objects():
    assert json_records({"data": {"list": None}}, "data.list", "v", b"") == []
    with pytest.raises(ParameterError, match="no records at `data.list`"):
        json_records({"code": 40001}, "data.list", "v", b'{"code": 40001}')
    with pytest.raises(ParameterError, match="not a list of objects"):
        json_records({"items": [1, 2]}, "items", "v", b"")


def test_xml_nested_1500_deep_is_refused_as_malformed_not_a_recursion_error():
    body = (b'<?xml version="1.0"?><Response><Head><Code>0000</Code></Head><Body><Team><TDH>' + b"<a>" * 1500 + b"x"
            + b"</a>" * 1500 + b"</TDH></Team></Body></Response>")
    with pytest.raises(BodyRefused, match="malformed .Excessive depth.*not retried"):
        xml_page(body, "v", {"head": "Head", "records": "Body/Team"})
