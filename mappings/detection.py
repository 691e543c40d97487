"""Detection: which import template or canonical format a file's header row belongs to."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache

from mappings.normalise import normalise_header
from mappings.spec import Mapping, canonical_mapping, templates
from tourlink import schema

log = logging.getLogger(__name__)


class NoMappingFound(LookupError):
    """No template or canonical format matches a file's headers (the message says what would)."""


def _header_variants(entity: schema.Entity, header: str) -> set[str]:
    """A Chinese header and the aliases of the field it names (normalised)."""
    variants = {normalise_header(header)}
    for f in entity.fields:
        if normalise_header(f.header) == normalise_header(header):
            variants |= {normalise_header(h) for h in f.headers}
    return variants


def _required_missing(template: Mapping, headers: set[str]) -> list[str]:
    """The required headers (R, no default, of entities read from every row) the file lacks."""
    missing = []
    for rule in template.rules.values():
        if rule.when is not None:
            continue
        for f in rule.entity.fields:
            given = rule.fields.get(f.name)
            if f.required != "R" or f.default is not None or (given is not None and given.source is None):
                continue
            names = {normalise_header(h) for h in f.headers} | ({normalise_header(given.source)} if given else set())
            if not names & headers and f.header not in missing:
                missing.append(f.header)
    return missing


def _template_score(template: Mapping, headers: set[str]) -> tuple[bool, int, int, list[str]] | None:
    """(all detect and required headers present, how many file headers the template knows, minus the
    detect headers missing, the required ones missing), or None when more than one detect header is missing: a file whose one detect header is
    damaged beyond cleaning (`団号`) is still its own template's rather than another's that matched
    through aliases (issue 16)."""
    entities = [r.entity for r in template.rules.values()]
    absent = 0
    for wanted in template.detect_headers:
        variants = set().union(*(_header_variants(e, wanted) for e in entities))
        absent += not variants & headers
    if absent > (1 if len(template.detect_headers) > 2 else 0):
        return None
    known = {normalise_header(h) for e in entities for f in e.fields for h in f.headers}
    for rule in template.rules.values():
        known |= {normalise_header(r.source) for r in rule.fields.values() if r.source}
    missing = _required_missing(template, headers)
    return (not missing and not absent, len(known & headers), -absent, missing)


def _canonical_entity(headers: set[str], entity: str | None) -> str | None:
    best: tuple[int, int, str] | None = None
    for e in schema.entities().values():
        if entity and e.name != entity:
            continue
        names = set(e.field_names)
        if not set(e.natural_key) <= headers:
            continue
        score = (len(names & headers), -len(names), e.name)
        if best is None or score > best:
            best = score
    return best[2] if best else None


def detect_mapping(headers: Sequence[str], *, entity: str | None = None) -> Mapping:
    """The import template or canonical format a file's header row belongs to."""
    normalised = {normalise_header(h) for h in headers if h is not None}
    canonical = _canonical_entity(normalised, entity)
    if canonical:
        return canonical_mapping(canonical)
    scored = [
        (score, t)
        for t in templates()
        if (entity is None or entity in t.rules) and (score := _template_score(t, normalised)) is not None
    ]
    if scored:
        # a template whose required headers all match first, then the one knowing most headers
        (full, _, _, missing), chosen = max(scored, key=lambda st: st[0][:3])
        if not full:
            log.info("表头按「%s」识别，缺少必填表头：%s", chosen.description, "、".join(missing) or "（无）")
        return chosen
    expected = "；".join(f"{t.description}（{'、'.join(t.detect_headers)}）" for t in templates())
    raise NoMappingFound(
        f"表头无法识别为任何导入模板。应为以下之一：{expected}；或规范格式（英文字段名表头）。"
        f"收到的表头：{'、'.join(h for h in headers if h)}"
    )


@cache
def known_headers() -> frozenset[str]:
    """Every Chinese header, alias and canonical field name (raw and normalised)."""
    names: set[str] = set()
    for e in schema.entities().values():
        for f in e.fields:
            for h in (*f.headers, f.name):
                names |= {h, normalise_header(h)}
    return frozenset(names)
