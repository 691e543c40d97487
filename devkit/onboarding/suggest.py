"""Propose a mapping from a vendor's sample: which source column fills which canonical field, how sure.

A field is matched on three kinds of evidence, combined into one confidence in [0, 1]:

- the name: canonical field names, the schema's Chinese headers and aliases, the vendor vocabulary in
  `synonyms.yaml`, pinyin initials of every Chinese name (`ZJHM` 证件号码, derived with pypinyin, never
  typed), and English word overlap (`lineName` → route name);
- the values' shape: 18-character codes passing the USCC check, valid resident IDs, `yyyyMMdd` and ISO
  dates and times, 11-digit mobiles, integers, country names, small code sets;
- for code-list fields, whether the sample's values resolve to canonical codes (labels, synonyms,
  English enums, pinyin initials of labels such as `CJ` 出境); the resolved ones become a `map`.

The record's own columns choose the parent entity (tour_group, e_contract, …); each list of records
chooses a child entity of that parent (group_member, group_staff, contract_tourist) and becomes its
`explode`. The result renders as the engine's mapping YAML with `# confidence` per line and an
`unmatched:` review list (`render`). Everything here looks at a few hundred sample values: no hot path.

The evidence lives beside this module: names and code spellings in `vocabulary`, value shapes in
`shapes`; this module weighs it, assigns columns to fields and entities to streams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devkit.onboarding.render import render
from devkit.onboarding.sample import Column, Sample, columns
from devkit.onboarding.shapes import SHAPE_ONLY, SKIP_CODES, Shape, expected_shape, shape_fit, shape_of
from devkit.onboarding.vocabulary import code_map, held_out, initials, name_score
from tourlink import schema

__all__ = [
    "EntitySuggestion", "FieldSuggestion", "MappingSuggestion", "code_map", "held_out", "initials", "render", "suggest",
    "suggest_files",
]

PROPOSE = 0.5  # below this a column is listed for review instead of mapped


@dataclass
class FieldSuggestion:
    field: str
    source: str
    confidence: float
    why: str
    directives: dict[str, Any] = field(default_factory=dict)
    review: str | None = None  # what a person must still decide (codes without a canonical value, …)

    def spec(self) -> str | dict[str, Any]:
        return {"from": self.source, **self.directives} if self.directives else self.source


@dataclass
class EntitySuggestion:
    entity: str
    fields: dict[str, FieldSuggestion]
    explode: str | None = None
    when: str | None = None
    distinct: bool = False

    @property
    def score(self) -> float:
        return sum(s.confidence for s in self.fields.values())


@dataclass
class MappingSuggestion:
    name: str
    entities: dict[str, EntitySuggestion]
    unmatched: list[str] = field(default_factory=list)  # source columns nobody maps, for review
    review: list[str] = field(default_factory=list)  # mapped lines a person must finish
    missing: list[str] = field(default_factory=list)  # required canonical fields without a source

    def source_of(self, entity: str, name: str) -> str | None:
        e = self.entities.get(entity)
        s = e.fields.get(name) if e else None
        return s.source if s else None

    def to_yaml(self, description: str = "", source: str | None = None) -> str:
        return render(self, description, source)


def score_column(column: Column, entity: str, f: schema.Field, s: Shape) -> FieldSuggestion | None:
    named, why = name_score(column.relative, entity, f.name)
    expected = expected_shape(f, entity)
    bonus, factor = shape_fit(expected, s)
    confidence = (named + (1 - named) * bonus) * factor if named > 0 else 0.0
    if named < 0.3 and expected in SHAPE_ONLY and bonus >= 0.25:
        confidence, why = max(confidence, 0.5), f"values look like {SHAPE_ONLY[expected]}"
    if named >= 0.3 and bonus > 0:
        why = f"{why} + values"
    if expected == "code" and confidence < 0.6 and s.distinct >= 2 and s.integer == 0 and f.codes in schema.code_lists():
        _, unresolved, share = code_map(f.codes, column.values)
        if share == 1.0:  # every value is one of this code list's codes, labels or known spellings
            confidence, why = 0.6, f"values are {f.codes} codes"
    if confidence < 0.3:
        return None
    suggestion = FieldSuggestion(f.name, column.path, round(min(confidence, 0.99), 2), why)
    _directives(suggestion, f, s, column)
    return suggestion


def _directives(suggestion: FieldSuggestion, f: schema.Field, s: Shape, column: Column) -> None:
    if f.type == "date" and s.compact_date >= 0.9:
        suggestion.directives["format"] = "%Y%m%d"
    elif f.type == "timestamp" and s.compact_timestamp >= 0.9:
        suggestion.directives["format"] = "%Y%m%d%H%M%S"
    elif f.type in ("list", "set") and not column.is_list and s.separator:
        suggestion.directives["split"] = s.separator
    elif f.type == "decimal" and s.integer >= 0.95 and s.n and min(int(v) for v in column.values) >= 1000:
        suggestion.review = f"{column.path}: whole numbers — amounts in fen? then add `scale: 0.01`"
    if f.codes and f.codes not in SKIP_CODES and f.codes in schema.code_lists() and column.values:
        mapping, unresolved, share = code_map(f.codes, column.values)
        if mapping:
            suggestion.directives["map"] = mapping
        if unresolved:
            choices = ", ".join(schema.code_lists()[f.codes].values)
            suggestion.review = f"{column.path}: codes {', '.join(unresolved)} have no known meaning; map them to {choices}"
            suggestion.confidence = round(suggestion.confidence * (0.8 + 0.2 * share), 2)


def assign(entity: str, cols: list[Column], shapes: dict[str, Shape], taken: dict[str, str] | None = None) -> EntitySuggestion:
    """Best column per field, each column used once per entity (greedy on confidence)."""
    e = schema.entity(entity)
    candidates = []
    for column in cols:
        for f in e.fields:
            if taken and f.name in taken:
                continue
            s = score_column(column, entity, f, shapes[column.path])
            if s is not None:
                candidates.append(s)
    candidates.sort(key=lambda s: (-s.confidence, e.field_names.index(s.field)))
    chosen: dict[str, FieldSuggestion] = {}
    used: set[str] = set()
    for s in candidates:
        if s.field in chosen or s.source in used or s.confidence < PROPOSE:
            continue
        chosen[s.field] = s
        used.add(s.source)
    for name, source in (taken or {}).items():
        chosen[name] = FieldSuggestion(name, source, 0.95, "parent key")
    ordered = {f: chosen[f] for f in e.field_names if f in chosen}
    return EntitySuggestion(entity, ordered)


def _roots() -> list[str]:
    return [name for name, e in schema.entities().items() if e.parent is None]


def _children(parent: str) -> list[str]:
    return [name for name, e in schema.entities().items() if e.parent == parent]


def _own(s: EntitySuggestion) -> float:
    return sum(f.confidence for f in s.fields.values() if f.why != "parent key")


def _coverage(s: EntitySuggestion) -> float:
    """A parent's score weighted by the share of its required fields the record fills."""
    required = [f.name for f in schema.entity(s.entity).fields if f.required == "R"]
    return s.score * (sum(1 for r in required if r in s.fields) / len(required) if required else 0)


def _child(child: str, parent: EntitySuggestion, cols: list[Column], shapes: dict[str, Shape]) -> EntitySuggestion:
    """`child` filled from `cols`, its parent-key fields from the parent's columns."""
    taken = {k: parent.fields[k].source for k in schema.entity(child).parent_key if k in parent.fields}
    return assign(child, cols, shapes, taken)


FLAT_CHILD = 1.5  # a flat row (a roster: group columns repeated on each member row) needs 2 good child fields


def _flat_children(parent: EntitySuggestion, top: list[Column], shapes: dict[str, Shape]) -> list[EntitySuggestion]:
    """Children filled from the same flat row as their parent (the parent then repeats: `distinct`)."""
    used = {f.source for f in parent.fields.values()}
    rest = [c for c in top if c.path not in used]
    found = [_child(child, parent, rest, shapes) for child in _children(parent.entity)]
    return [c for c in found if _own(c) >= FLAT_CHILD]


def suggest_sample(sample: Sample) -> tuple[list[EntitySuggestion], list[Column]]:
    """The entities one stream's records fill, and every column seen."""
    cols = columns(sample.records)
    shapes = {c.path: shape_of(c) for c in cols}
    top = [c for c in cols if c.explode is None and not (c.is_list and not c.values)]
    lists = [c.path for c in cols if c.explode is None and c.is_list and not c.values]
    roots = [assign(name, top, shapes) for name in _roots()]
    flat = {r.entity: ([] if lists else _flat_children(r, top, shapes)) for r in roots}
    # the parent whose required fields the record fills best (with the children a flat row carries)
    parent = max(roots, key=lambda r: _coverage(r) + sum(_own(c) for c in flat[r.entity]))
    found = [parent, *flat[parent.entity]]
    if flat[parent.entity]:
        parent.distinct = True
    for explode in lists:
        inside = [c for c in cols if c.explode == explode]
        options = [_child(child, parent, inside, shapes) for child in _children(parent.entity)]
        if not options:
            continue
        best = max(options, key=lambda s: s.score)
        if _own(best) >= 0.6 and best.entity not in {f.entity for f in found}:
            best.explode = explode
            found.append(best)
    return found, cols


def suggest(samples: list[Sample], name: str) -> MappingSuggestion:
    """One mapping for every stream's sample; entities of different streams are gated with `when`."""
    per_sample = [suggest_sample(s) for s in samples]
    entities: dict[str, EntitySuggestion] = {}
    all_columns: dict[str, list[str]] = {}
    for (found, cols), sample in zip(per_sample, samples, strict=True):
        all_columns[sample.name] = [c.path for c in cols]
        for e in found:
            if e.entity not in entities or e.score > entities[e.entity].score:
                entities[e.entity] = e
    if len(samples) > 1:
        for (found, _cols), sample in zip(per_sample, samples, strict=True):
            others = {p for other, paths in all_columns.items() if other != sample.name for p in paths}
            parent = found[0]
            gate = next((s.source for s in parent.fields.values() if s.source not in others and "." not in s.source), None)
            for e in found:
                if entities.get(e.entity) is e and gate:
                    e.when = f"{gate} not null"
    result = MappingSuggestion(name, entities)
    used = {s.source for e in entities.values() for s in e.fields.values()} | {e.explode for e in entities.values() if e.explode}
    seen: list[str] = []
    for _, cols in per_sample:
        for c in cols:
            if c.path not in used and c.path not in seen and not (c.explode and c.explode not in used):
                seen.append(c.path)
    result.unmatched = seen
    for e in entities.values():
        for s in e.fields.values():
            if s.review:
                result.review.append(f"{e.entity}.{s.field}: {s.review}")
        for f in schema.entity(e.entity).fields:
            if f.required == "R" and f.name not in e.fields and f.default is None:
                result.missing.append(f"{e.entity}.{f.name}")
    return result


def suggest_files(paths: list[Path | str], name: str) -> MappingSuggestion:
    """Convenience: read each sample file (one per stream) and suggest."""
    from devkit.onboarding.sample import read_sample

    return suggest([read_sample(p) for p in paths], name)
