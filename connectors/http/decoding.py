"""Response bodies to records: JSON, and XML parsed as a stream with every dangerous feature off.

XML comes from on-premise systems as tens of MB in GBK with a default namespace; lxml's `iterparse`
reads it from bytes (so the declared encoding is honoured) and frees each record once converted.
Entities are not resolved, no DTD is loaded and nothing is fetched from the network.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from lxml import etree

from connectors.http.errors import RetryableError

SAFE_XML = {"resolve_entities": False, "no_network": True, "load_dtd": False, "dtd_validation": False, "huge_tree": True}


def decode_json(body: bytes, what: str) -> Any:
    """A truncated or garbled body is retryable: gateways cut responses short."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RetryableError(f"{what}: body is not complete JSON ({exc.__class__.__name__} at {len(body)} bytes)") from None


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


def element_record(element: Any, list_tags: frozenset[str]) -> dict[str, Any]:
    """An element's children as a dict; children named in `list_tags` become lists of records."""
    record: dict[str, Any] = {}
    for child in element:
        name = _local(child.tag)
        if not name:  # comments, processing instructions, unresolved entity references
            continue
        if name in list_tags:
            record[name] = [element_record(item, list_tags) for item in child if _local(item.tag)]
        elif len(child):
            record[name] = element_record(child, list_tags)
        else:
            record[name] = child.text
    return record


def iter_xml(body: bytes, record_tag: str, *, head_tag: str = "Head", list_tags: frozenset[str] = frozenset(), what: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ("head", {...}) once, then ("record", {...}) per `record_tag` element, namespace-agnostic.

    A body cut short raises RetryableError (the gateway truncated it): the caller retries the page.
    """
    events = etree.iterparse(io.BytesIO(body), events=("end",), **SAFE_XML)
    try:
        for _, element in events:
            name = _local(element.tag)
            if name == head_tag:
                yield "head", element_record(element, list_tags)
                element.clear()
            elif name == record_tag:
                yield "record", element_record(element, list_tags)
                element.clear()
                parent = element.getparent()
                while parent is not None and element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise RetryableError(f"{what}: XML body incomplete or malformed ({exc.msg})") from None
