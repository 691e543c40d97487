"""Which fields a read carried, per stream, and which source fields a mapping reads.

A field is a dotted path as a mapping names it: a top-level record field (`teamNo`), or a field of
the records of a nested list or struct (`tourists.cardNo`). Only what the data's schema shows counts
as received: a list column that held no record in this read (padded by the connector, all null) says
nothing about its inner fields, so they are `opaque`, neither received nor missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl

from tourlink.frames import PAGE_FILE, ROW, SourceFrame

PAGE_MARK = "-page-"  # an API page is named `<stream>-page-NNNN.<ext>` (connectors/erp/pages.py)


def stream_of(frame: SourceFrame, default: str) -> str:
    """The stream a frame's records came from: its page name's prefix, else `default` (the mapping)."""
    head, mark, _ = frame.file.partition(PAGE_MARK)
    return head if mark and head else default


def _walk(prefix: str, dtype: pl.DataType, fields: dict[str, str], opaque: set[str]) -> None:
    inner = dtype
    while isinstance(inner, pl.List | pl.Array):
        inner = inner.inner
    if isinstance(inner, pl.Struct):
        for f in inner.fields:
            path = f"{prefix}.{f.name}"
            fields[path] = _kind(f.dtype)
            _walk(path, f.dtype, fields, opaque)
    elif inner != dtype or inner == pl.Null:  # a list of nothing known, or all nulls: inner fields unknown
        opaque.add(prefix)


def _kind(dtype: pl.DataType) -> str:
    """A coarse type name: a renamed field keeps its kind (a string stays a string)."""
    if isinstance(dtype, pl.List | pl.Array):
        return "list"
    if isinstance(dtype, pl.Struct):
        return "record"
    if dtype == pl.Null:
        return "null"
    if dtype.is_numeric():
        return "number"
    if dtype == pl.Boolean:
        return "bool"
    return "text"


def received_fields(frames: Iterable[SourceFrame], default_stream: str) -> dict[str, tuple[dict[str, str], set[str]]]:
    """Per stream: {field path: kind} of every field the frames' schemas show, and the opaque paths."""
    out: dict[str, tuple[dict[str, str], set[str]]] = {}
    for frame in frames:
        if frame.data.height == 0:
            continue
        fields, opaque = out.setdefault(stream_of(frame, default_stream), ({}, set()))
        for name, dtype in frame.data.schema.items():
            if name in (ROW, PAGE_FILE) or name.startswith("__"):
                continue
            fields.setdefault(name, _kind(dtype))
            _walk(name, dtype, fields, opaque)
    for fields, opaque in out.values():
        opaque -= {p for p in opaque if any(f.startswith(p + ".") for f in fields)}  # known on another page
    return out


def mapped_fields(mapping: Any) -> dict[str, list[str]]:
    """{source field path: the canonical fields it fills} of every source field a mapping names
    (`from`/plain columns, `explode`, `when`); implicit header matches (`headers: schema`) are not
    listed, a template's headers are what picked it."""
    read: dict[str, list[str]] = {}
    for entity, rule in mapping.rules.items():
        for name, f in rule.fields.items():
            if f.source:
                read.setdefault(f.source, []).append(f"{entity}.{name}")
        for extra in (rule.explode, rule.when):
            if extra:
                read.setdefault(extra, [])
    return read
