"""A vendor's sample (an API response body, JSON Lines, XML, CSV/xlsx) as records and their columns.

Onboarding starts from whatever the vendor hands over. This module finds the record list in it (the
largest array of objects that is not inside another one; for XML the shallowest repeated element),
turns records into the shape the connector gives the mapping (JSON:API resources flattened with
their included relationships, XML elements as dicts, child lists as lists of records), and profiles
every column: its dotted path as a mapping writes it, the explode list it lives in, and sample values.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.http.decoding import SAFE_XML, element_record, jsonapi_records

SAMPLE_VALUES = 200  # values kept per column for shape tests


class SampleError(ValueError):
    """The sample holds no recognisable list of records."""


@dataclass
class Sample:
    """The records of one stream's sample, where they were found, and the envelope around them."""

    name: str
    records: list[dict[str, Any]]
    kind: str  # json | jsonapi | jsonl | xml | table
    record_path: str = ""  # where the list sits in the body ("data.list", "items", "Response.Body.Team")
    envelope: dict[str, Any] = field(default_factory=dict)  # the body minus the record list (JSON)


@dataclass
class Column:
    """One source field across the records: `path` as the mapping writes it (`tourists.cardNo`)."""

    path: str
    explode: str | None  # the list column it belongs to (None: a field of the record itself)
    values: list[str] = field(default_factory=list)
    is_list: bool = False  # the value is a list of scalars
    present: int = 0

    @property
    def relative(self) -> str:
        """The path inside its explode list (`cardNo`, `document.number`)."""
        return self.path[len(self.explode) + 1:] if self.explode else self.path


# ------------------------------------------------------------------------------------ reading


def _is_jsonapi(payload: Any) -> bool:
    data = payload.get("data") if isinstance(payload, dict) else None
    return isinstance(data, list) and bool(data) and all(isinstance(r, dict) and "attributes" in r and "type" in r for r in data)


def _record_lists(value: Any, path: str, out: list[tuple[str, list[dict[str, Any]]]]) -> None:
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out.append((path, value))  # records: do not look for lists inside them (those are child lists)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _record_lists(v, f"{path}.{k}" if path else k, out)


def _without(payload: Any, path: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        return {}
    head, _, rest = path.partition(".")
    return {k: (_without(v, rest) if k == head and rest else None if k == head else v) for k, v in payload.items()}


def from_json(payload: Any, name: str) -> Sample:
    if _is_jsonapi(payload):
        return Sample(name, jsonapi_records(payload), "jsonapi", "data", _without(payload, "data"))
    lists: list[tuple[str, list[dict[str, Any]]]] = []
    _record_lists(payload, "", lists)
    if not lists:
        raise SampleError(f"{name}: no array of objects found in the JSON body")
    path, records = max(lists, key=lambda pr: len(pr[1]))
    return Sample(name, records, "json", path, _without(payload, path) if path else {})


def _local(tag: Any) -> str:
    from lxml import etree

    return etree.QName(tag).localname if isinstance(tag, str) else ""


def from_xml(body: bytes, name: str) -> Sample:
    """The shallowest element that repeats is the record; children holding records become lists."""
    from lxml import etree

    root = etree.fromstring(body, etree.XMLParser(**SAFE_XML))
    seen: Counter[tuple[int, str]] = Counter()
    paths: dict[tuple[int, str], str] = {}

    def walk(element: Any, depth: int, path: str) -> None:
        for child in element:
            tag = _local(child.tag)
            if not tag or not len(child):
                continue
            seen[(depth, tag)] += 1
            paths.setdefault((depth, tag), f"{path}.{tag}")
            walk(child, depth + 1, f"{path}.{tag}")

    walk(root, 1, _local(root.tag))
    repeated = sorted((depth, -n, tag) for (depth, tag), n in seen.items() if n > 1)
    if not repeated:
        raise SampleError(f"{name}: no repeated element with children found in the XML body")
    depth, _, tag = repeated[0]
    elements = [e for e in root.iter() if _local(e.tag) == tag]
    list_tags = frozenset(
        _local(child.tag)
        for e in elements for child in e
        if len(child) and all(len(grand) for grand in child)
    )
    records = [element_record(e, list_tags) for e in elements]
    return Sample(name, records, "xml", paths[(depth, tag)])


def read_sample(path: Path | str, *, name: str | None = None) -> Sample:
    """The records of a sample file: .json, .jsonl/.ndjson, .xml, or a CSV/xlsx template."""
    path = Path(path)
    name = name or path.name
    suffix = path.suffix.lower()
    if suffix in (".csv", ".xlsx", ".xls", ".tsv"):
        from connectors.files import read_source
        from mappings.engine import known_headers
        from tourlink.frames import ROW

        frame = next(iter(read_source(path, known_headers=known_headers(), chunk_rows=SAMPLE_VALUES)), None)
        if frame is None:
            raise SampleError(f"{name}: no data rows")
        return Sample(name, frame.data.drop(ROW, strict=False).to_dicts(), "table")
    body = path.read_bytes()
    return read_body(body, name, suffix)


def read_body(body: bytes, name: str, suffix: str = "") -> Sample:
    """The records of a response body (JSON, JSON Lines or XML, told apart by content)."""
    text = body.lstrip()
    if suffix == ".xml" or text.startswith(b"<"):
        return from_xml(body, name)
    if suffix in (".jsonl", ".ndjson"):
        records = [json.loads(line) for line in body.decode("utf-8-sig").splitlines() if line.strip()]
        return Sample(name, [r for r in records if isinstance(r, dict)], "jsonl")
    try:
        return from_json(json.loads(body.decode("utf-8-sig")), name)
    except json.JSONDecodeError:
        lines = [json.loads(line) for line in body.decode("utf-8-sig").splitlines() if line.strip()]
        return Sample(name, [r for r in lines if isinstance(r, dict)], "jsonl")


# ------------------------------------------------------------------------------------ columns


def _scalar_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def columns(records: list[dict[str, Any]]) -> list[Column]:
    """Every column of the records in first-seen order; lists of records open an explode scope."""
    found: dict[str, Column] = {}

    def add(path: str, explode: str | None, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                add(f"{path}.{k}", explode, v)
            return
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            if explode is None:
                found.setdefault(path, Column(path, None, is_list=True)).present += 1
                for item in value:
                    for k, v in item.items():
                        add(f"{path}.{k}", path, v)
            return
        column = found.setdefault(path, Column(path, explode))
        if isinstance(value, list):
            column.is_list = True
            texts = [t for t in (_scalar_text(v) for v in value) if t is not None]
            if texts:
                column.present += 1
                if len(column.values) < SAMPLE_VALUES:
                    column.values.append("|".join(texts))
            return
        text = _scalar_text(value)
        if text is not None:
            column.present += 1
            if len(column.values) < SAMPLE_VALUES:
                column.values.append(text)

    for record in records:
        for key, value in record.items():
            add(key, None, value)
    return list(found.values())


def explode_lists(records: list[dict[str, Any]]) -> list[str]:
    """The columns holding lists of records (candidates for `explode`)."""
    return [c.path for c in columns(records) if c.explode is None and c.is_list and not c.values]
