"""Where a vendor's records are in its body: a dotted JSON path, JSON:API resources, or an XML record
path with declared namespaces (GBK honoured, parsed as a stream from a file object, so a body spilled
to a temp file is never read into memory; entities and network off, libxml2's default size limits
kept: no `huge_tree`).

A body without the declared path is an error naming the path and what came back, never an empty
page: a wrong `records` path must not load nothing and call it a success.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from connectors.bodies import RawBody, as_raw
from connectors.encoding import SAMPLE_BYTES, is_utf8, mislabelled_utf8
from connectors.http.decoding import element_record, jsonapi_records, syntax_error
from connectors.http.errors import BodyRefused, ParameterError

BOUNDED_XML = {"resolve_entities": False, "no_network": True, "load_dtd": False, "dtd_validation": False, "huge_tree": False}


def dig(payload: Any, path: str | None) -> Any:
    """The value at a dotted path (`data.list`, `errors.0.status`); None when any step is missing."""
    if not path:
        return None
    for part in str(path).split("."):
        if isinstance(payload, dict):
            payload = payload.get(part)
        elif isinstance(payload, list) and part.isdigit() and int(part) < len(payload):
            payload = payload[int(part)]
        else:
            return None
    return payload


def snippet(body: bytes | RawBody, limit: int = 160) -> str:
    """The start of a body, on one line: what a person needs to see what the vendor answered."""
    start = body.head(limit * 4) if isinstance(body, RawBody) else body[: limit * 4]
    text = start.decode("utf-8", "replace")
    return " ".join(text.split())[:limit]


def json_records(payload: Any, path: str, what: str, body: bytes | RawBody) -> list[dict[str, Any]]:
    """The list of objects at `path`; `null` there is an empty page, a missing path an error."""
    parent_path, _, last = str(path).rpartition(".")
    parent = dig(payload, parent_path) if parent_path else payload
    if not isinstance(parent, dict) or last not in parent:
        raise ParameterError(f"{what}: the body has no records at `{path}` (check the source's `records` option); it begins: {snippet(body)}")
    found = parent[last]
    if found is None:
        return []
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        raise ParameterError(f"{what}: `{path}` is not a list of objects ({type(found).__name__}); it begins: {snippet(body)}")
    return found


def jsonapi_page(payload: Any, what: str, body: bytes | RawBody) -> list[dict[str, Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise ParameterError(f"{what}: not a JSON:API document (no `data` list); it begins: {snippet(body)}")
    return jsonapi_records(payload)


@dataclass
class XmlPage:
    """An XML answer: its head element as a record (code, message, total) and its records."""

    head: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)


def _qualified(name: str, namespaces: dict[str, str]) -> str:
    prefix, _, local = name.rpartition(":")
    if prefix:
        if prefix not in namespaces:
            raise ParameterError(f"xml path {name!r}: namespace prefix {prefix!r} is not declared in `xml.namespaces`")
        return f"{{{namespaces[prefix]}}}{local}"
    return local


def _matches(tag: Any, wanted: str) -> bool:
    if not isinstance(tag, str):
        return False
    return tag == wanted if wanted.startswith("{") else etree.QName(tag).localname == wanted


_DECLARED = re.compile(rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)""")


def xml_encoding(body: bytes, what: str, declared: dict[str, Any], charset: str = "") -> str | None:
    """The encoding to parse with (None: the XML declaration's, or UTF-8). The XML declaration is what
    the parser honours; without one, the Content-Type charset is. A body declared GBK that is valid
    UTF-8 with multi-byte characters is mislabelled: refused naming both encodings, or read as UTF-8
    when the source sets `xml.trust_detected_encoding`. Only the body's first `SAMPLE_BYTES` are
    looked at, so a spilled body's kept head decides as the whole body would."""
    in_body = _DECLARED.match(body[:512])
    header = charset
    label, where = (in_body.group(1).decode("ascii"), "the XML declaration") if in_body else (header, "the Content-Type charset")
    wide = mislabelled_utf8(body, label) if label else 0
    if wide:
        if declared.get("trust_detected_encoding"):
            return "utf-8"
        raise BodyRefused(
            f"{what}: the body is declared {label.upper()} ({where}) but is UTF-8 ({wide} CJK characters"
            f" decode strictly as UTF-8; read as {label.upper()} they would be mojibake): refused; set the source's"
            " `xml.trust_detected_encoding: true` to read it as UTF-8, or ask the vendor to fix the label")
    # Without a declaration the parser reads UTF-8; the header's charset is honoured only where UTF-8
    # does not decode (a default `charset=ISO-8859-1` on a UTF-8 body must not turn it into mojibake).
    return header if header and not in_body and not is_utf8(body) else None


def xml_page(body: bytes | RawBody, what: str, declared: dict[str, Any], charset: str = "") -> XmlPage:
    """The head and the records of an XML body, streamed from its file object (records are freed
    once converted; a spilled body is read from disk in libxml2's blocks).

    A body cut short is retryable (gateways truncate); a complete body that is malformed, too deep,
    holds an entity reference or is mislabelled is refused at once; a body without the declared head
    or record container is an error naming them."""
    raw = as_raw(body)
    encoding = xml_encoding(raw.head(SAMPLE_BYTES), what, declared, charset)
    namespaces = dict(declared.get("namespaces") or {})
    head_tag = _qualified(str(declared.get("head") or "Head"), namespaces)
    steps = [_qualified(s, namespaces) for s in str(declared.get("records") or "").split("/") if s]
    if not steps:
        raise ParameterError(f"{what}: `xml.records` declares no record path")
    lists = frozenset(declared.get("lists") or ())
    try:
        with raw.open() as source:
            page, found_head, found_container = _walk(source, steps, head_tag, lists, what, encoding)
    except etree.XMLSyntaxError as exc:
        raise syntax_error(raw, what, exc) from None
    if not found_head:
        raise ParameterError(f"{what}: the XML body has no {declared.get('head') or 'Head'} element (check `xml.namespaces`); it begins: {snippet(raw)}")
    if not found_container:
        raise ParameterError(f"{what}: the XML body has no records at {declared.get('records')}; it begins: {snippet(raw)}")
    return page


def _walk(
    source: Any, steps: list[str], head_tag: str, lists: frozenset[str], what: str, encoding: str | None
) -> tuple[XmlPage, bool, bool]:
    """One pass of iterparse over `source`: the page, and whether its head and container were found."""
    page = XmlPage()
    found_head, found_container = False, len(steps) == 1
    path: list[Any] = []  # tags from below the root down to the current element
    depth = 0
    for event, element in etree.iterparse(source, events=("start", "end"), encoding=encoding, **BOUNDED_XML):
        if event == "start":
            depth += 1
            if depth > 1:
                path.append(element.tag)
                if len(path) == len(steps) - 1 and all(map(_matches, path, steps)):
                    found_container = True
            continue
        if depth == 2 and _matches(element.tag, head_tag):
            page.head = element_record(element, lists, what)
            found_head = True
            element.clear()
        elif len(path) == len(steps) and all(map(_matches, path, steps)):
            page.records.append(element_record(element, lists, what))
            element.clear()
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]
        depth -= 1
        if path:
            path.pop()
    return page, found_head, found_container
