"""Response bodies to records: JSON, and XML parsed as a stream with every dangerous feature off.

XML comes from on-premise systems as tens of MB in GBK with a default namespace; lxml's `iterparse`
reads it from a binary file object (bytes, or the temp file a large body was spilled to: so the
declared encoding is honoured and memory does not grow with the body) and frees each record once
converted. Entities are not resolved, no DTD is loaded and nothing is fetched from the network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from connectors.bodies import RawBody, as_raw
from connectors.http.errors import BodyRefused, RetryableError

MAX_DEPTH = 256  # nesting of one record's elements
SAFE_XML = {"resolve_entities": False, "no_network": True, "load_dtd": False, "dtd_validation": False, "huge_tree": True}


def decode_json(body: bytes | RawBody, what: str) -> Any:
    """A truncated or garbled body is retryable: gateways cut responses short. A spilled body is
    parsed from its file (whole, as JSON must be; the bytes are never held beside the result)."""
    raw = as_raw(body)
    try:
        if raw.body is not None:
            return json.loads(raw.body)
        with raw.open() as fh:
            return json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RetryableError(f"{what}: body is not complete JSON ({exc.__class__.__name__} at {raw.size} bytes)") from None


def jsonapi_records(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """JSON:API resources as flat records: `id`, the attributes, and each relationship as the list of
    its related resources' records (resolved from `included`; to-one relations become one-item lists).

    The `rest` connector hands the mapping exactly these records, and the onboarding tool suggests a
    mapping from the same records of a sample body, so a suggestion names the columns the mapping will see."""
    included = {(r.get("type"), r.get("id")): r for r in payload.get("included") or [] if isinstance(r, dict)}

    def flat(resource: dict[str, Any], depth: int) -> dict[str, Any]:
        record: dict[str, Any] = {"id": resource.get("id"), **(resource.get("attributes") or {})}
        for rel, link in (resource.get("relationships") or {}).items():
            data = (link or {}).get("data")
            refs = data if isinstance(data, list) else [data] if data else []
            related = [included.get((ref.get("type"), ref.get("id"))) for ref in refs if isinstance(ref, dict)]
            if depth == 0:
                record[rel] = [flat(r, 1) for r in related if r is not None]
        return record

    return [flat(r, 0) for r in payload.get("data") or [] if isinstance(r, dict)]


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def element_record(element: Any, list_tags: frozenset[str], what: str = "", depth: int = 0) -> dict[str, Any]:
    """An element's children as a dict; children named in `list_tags` become lists of records.

    An entity reference (left unexpanded: entities are never resolved) is refused, not dropped: it
    would silently turn a value into `{}`. A record nested deeper than `MAX_DEPTH` (libxml2's own
    bound without `huge_tree`) is refused, never a RecursionError."""
    if depth > MAX_DEPTH:
        raise BodyRefused(f"{what}: XML body malformed (a record nested over {MAX_DEPTH} deep): not retried")
    record: dict[str, Any] = {}
    for child in element:
        if isinstance(child, etree._Entity):
            raise BodyRefused(entity_refused(what, child.text))
        name = _local(child.tag)
        if not name:  # comments, processing instructions, unresolved entity references
            continue
        if name in list_tags:
            record[name] = [element_record(item, list_tags, what, depth + 2) for item in child
                            if _local(item.tag) or isinstance(item, etree._Entity)]
        elif len(child):
            record[name] = element_record(child, list_tags, what, depth + 1)
        else:
            record[name] = child.text
    return record


def entity_refused(what: str, reference: str) -> str:
    return (f"{what}: the XML body holds the entity reference {reference}: entities are not accepted (none is"
            " expanded or fetched); the vendor must send the character itself or a numeric reference (&#160;)")


_ENTITY = re.compile(rb"&([A-Za-z_:][-\w.:]*);")
_PREDEFINED = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
_ROOT = re.compile(rb"<(?![?!])([^\s/>]+)")


def _complete(body: RawBody) -> bool:
    """Whether the body ends with its root element's end tag: a body cut short (a gateway truncated
    it) does not, so its syntax error is worth a retry; a complete one gets the same error again."""
    root = _ROOT.search(body.head(64 * 1024))
    if root is None:
        return False
    tail = body.tail(4096).rstrip()
    return bool(re.search(rb"</" + re.escape(root.group(1)) + rb"\s*>$", tail))


def _blocks(body: RawBody, size: int = 1 << 20, overlap: int = 256) -> Iterator[bytes]:
    """The body in blocks that overlap by `overlap` bytes (an entity name cut by a block boundary is
    whole in the next one), read from the file when spilled."""
    if body.body is not None:
        yield body.body
        return
    with body.open() as fh:
        carry = b""
        while block := fh.read(size):
            yield carry + block
            carry = block[-overlap:]


def syntax_error(body: bytes | RawBody, what: str, exc: etree.XMLSyntaxError) -> Exception:
    """What a syntax error means: a cut body is retryable; a complete body with an entity reference,
    too deep or otherwise broken is refused at once (the same request would get the same body)."""
    raw = as_raw(body)
    if not _complete(raw):
        return RetryableError(f"{what}: XML body incomplete ({exc.msg})")
    for block in _blocks(raw):
        for found in _ENTITY.finditer(block):
            if found.group(1) not in _PREDEFINED:
                return BodyRefused(entity_refused(what, "&" + found.group(1).decode("utf-8", "replace") + ";"))
    return BodyRefused(f"{what}: XML body malformed ({exc.msg}): a complete body the vendor would send again, not retried")


def iter_xml(body: bytes | RawBody, record_tag: str, *, head_tag: str = "Head", list_tags: frozenset[str] = frozenset(), what: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ("head", {...}) once, then ("record", {...}) per `record_tag` element, namespace-agnostic.

    A body cut short raises RetryableError (the gateway truncated it): the caller retries the page.
    """
    raw = as_raw(body)
    with raw.open() as source:
        yield from _iter_xml(source, raw, record_tag, head_tag, list_tags, what)


def _iter_xml(source: Any, raw: RawBody, record_tag: str, head_tag: str, list_tags: frozenset[str], what: str) -> Iterator[tuple[str, dict[str, Any]]]:
    events = etree.iterparse(source, events=("end",), **SAFE_XML)
    try:
        for _, element in events:
            name = _local(element.tag)
            if name == head_tag:
                yield "head", element_record(element, list_tags, what)
                element.clear()
            elif name == record_tag:
                yield "record", element_record(element, list_tags, what)
                element.clear()
                parent = element.getparent()
                while parent is not None and element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise syntax_error(raw, what, exc) from None
