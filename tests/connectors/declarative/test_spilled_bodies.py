"""A body spilled to a temp file (over `spill_body_bytes`) is judged from its file exactly as it would
be in memory (issue 16): XML parsed incrementally with the same hardened settings (entities refused,
even far past the kept head or across a read block; a cut body retried, a broken one refused; UTF-8
declared GBK refused), JSON decoded from the path, HTML pages named."""

from __future__ import annotations

import pytest

from connectors.bodies import RawBody, spill_file
from connectors.declarative.answers import checker
from connectors.declarative.records import xml_page
from connectors.declarative.spec import spec_of
from connectors.http.decoding import decode_json
from connectors.http.errors import BodyRefused, ParameterError, RetryableError
from connectors.registry import SourceConfig

SIMPLE = {"head": "Head", "records": "Body/Team"}
PAD = b"<!--" + b"p" * 4000 + b"-->"  # 600 of them: the body is ~2.4 MB, far past the 256 KiB head kept in memory


def spilled(data: bytes) -> RawBody:
    path, sink = spill_file()
    with sink:
        sink.write(data)
    return RawBody(path=path, start=data[: 256 * 1024])


def xml(team: bytes, declared: bytes = b'<?xml version="1.0"?>', pads: int = 600) -> bytes:
    return (declared + b"<Response><Head><Code>0000</Code></Head><Body>" + PAD * pads
            + b"<Team><TDH>" + team + b"</TDH></Team></Body></Response>")


def test_a_spilled_xml_body_reads_as_the_same_body_in_memory(tourlink_home):
    body = xml("张伟".encode("gbk"), b'<?xml version="1.0" encoding="GBK"?>')
    assert xml_page(spilled(body), "v", SIMPLE) == xml_page(body, "v", SIMPLE)
    assert xml_page(spilled(body), "v", SIMPLE).records == [{"TDH": "张伟"}]


@pytest.mark.parametrize("at", ["past the head", "across a read block"])
def test_an_entity_reference_far_into_a_spilled_body_is_refused_naming_it(tourlink_home, at):
    body = xml(b"&nbsp;")
    if at == "across a read block":  # the reference straddles the 1 MiB blocks the file is scanned in
        short = xml(b"&nbsp;", pads=0)
        filler = (1 << 20) - 3 - short.index(b"&nbsp;") - len(b"<!---->")
        body = short.replace(b"<Team>", b"<!--" + b"q" * filler + b"--><Team>")
        assert body.index(b"&nbsp;") < (1 << 20) < body.index(b"&nbsp;") + 6
    with pytest.raises(BodyRefused, match="entity reference &nbsp;: entities are not accepted"):
        xml_page(spilled(body), "v", SIMPLE)


def test_a_cut_spilled_body_is_retried_a_broken_complete_one_refused(tourlink_home):
    whole = xml(b"x")
    with pytest.raises(RetryableError, match="incomplete"):
        xml_page(spilled(whole[:-30]), "v", SIMPLE)
    with pytest.raises(BodyRefused, match="malformed .*mismatch"):
        xml_page(spilled(whole.replace(b"</Team>", b"</Tem>")), "v", SIMPLE)


def test_a_spilled_utf8_body_declared_gbk_is_refused_from_its_kept_head(tourlink_home):
    # the check samples the first 256 KiB, in memory or spilled alike: here the head's message is CJK
    body = xml("张伟".encode(), b'<?xml version="1.0" encoding="GBK"?>').replace(b"</Code>", "</Code><Msg>成功</Msg>".encode())
    for judged in (body, spilled(body)):
        with pytest.raises(BodyRefused, match=r"declared GBK \(the XML declaration\) but is UTF-8 \(2 CJK"):
            xml_page(judged, "v", SIMPLE)
    assert xml_page(spilled(body), "v", SIMPLE | {"trust_detected_encoding": True}).records == [{"TDH": "张伟"}]


def test_a_spilled_json_body_is_decoded_from_its_file_and_a_cut_one_retried(tourlink_home):
    body = b'{"code": 0, "items": [' + b",".join(b'{"id": %d}' % i for i in range(100_000)) + b"]}"
    assert decode_json(spilled(body), "v")["items"][-1] == {"id": 99_999}
    with pytest.raises(RetryableError, match=f"not complete JSON .* at {len(body) - 5} bytes"):
        decode_json(spilled(body[:-5]), "v")


def test_the_declared_check_judges_a_spilled_body_and_quotes_its_start(tourlink_home):
    source = SourceConfig(name="v", dialect="rest", options={"paths": {"s": "/s"}, "error": {"path": "code", "ok": [0], "message": "msg"}})
    check = checker(spec_of(source))
    assert check.reads_raw
    body = b'{"code": 0, "items": [' + b",".join(b'{"id": %d}' % i for i in range(100_000)) + b"]}"
    assert len(check(spilled(body), "v")["items"]) == 100_000
    with pytest.raises(ParameterError, match="vendor error code 40010 bad page"):
        check(spilled(b'{"code": 40010, "msg": "bad page", "pad": "' + b"x" * 300_000 + b'"}'), "v")
    page = b"<html><head><title>Login</title></head><body>" + b"x" * 300_000 + b"</body></html>"
    with pytest.raises(ParameterError, match="HTML page \\('Login'\\)"):
        check(spilled(page), "v")
