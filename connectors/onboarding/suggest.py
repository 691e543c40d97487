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
`unmatched:` review list. Everything here looks at a few hundred sample values: no hot path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from connectors.onboarding.sample import Column, Sample, columns
from tourlink import schema

SYNONYMS_FILE = Path(__file__).parent / "synonyms.yaml"
PROPOSE = 0.5  # below this a column is listed for review instead of mapped
SKIP_CODES = {None, "division", "destination"}
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[\u4e00-\u9fff]+")
_COMPACT_DATE = re.compile(r"^\d{8}$")
_COMPACT_TIME = re.compile(r"^\d{14}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")
_MOBILE = re.compile(r"^(\+?86)?1[3-9]\d{9}$")
_INT = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_PINYIN = re.compile(r"^[A-Z]+( [A-Z]+)*$")
_PERSON = re.compile(r"^[\u4e00-\u9fff·]{2,5}$")
_GUIDE_CARD = re.compile(r"^[DL]-\d{4}-\d{6}$")
# the provinces' two leading digits (GB/T 2260): a 6-digit code starting otherwise is no division code
_PROVINCES = frozenset("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split())
_SEPARATORS = ("、", ",", "，", ";", "；", "|", "/")


# ------------------------------------------------------------------------------- vocabulary


def compact(text: str) -> str:
    """Case- and separator-insensitive form of a name: `team_No` = `teamNo` = `TEAMNO`."""
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]", "", str(text).lower())


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(str(text))]


@cache
def initials(chinese: str) -> str:
    """Pinyin initials of a Chinese name (证件号码 → ZJHM); empty for names without Chinese."""
    if not _CJK.search(chinese):
        return ""
    from pypinyin import Style, lazy_pinyin

    return "".join(p[0] for p in lazy_pinyin(chinese, style=Style.FIRST_LETTER) if p and p[0].isalpha()).upper()


@cache
def _vocabulary_file() -> dict[str, Any]:
    return yaml.safe_load(SYNONYMS_FILE.read_text(encoding="utf-8"))


_HELD_OUT: frozenset[str] = frozenset()


def vocabulary() -> dict[str, Any]:
    """`synonyms.yaml`, minus the names held out by `held_out` (for an honest accuracy figure)."""
    raw = _vocabulary_file()
    if not _HELD_OUT:
        return raw
    return {
        "fields": {k: [n for n in v if compact(n) not in _HELD_OUT] for k, v in raw["fields"].items()},
        "tokens": raw["tokens"],
        "codes": {k: [n for n in v if compact(n) not in _HELD_OUT] for k, v in raw["codes"].items()},
    }


@contextmanager
def held_out(names: Iterable[str]) -> Iterator[None]:
    """Suggest as if the vocabulary had never seen `names` (a vendor's own field names and codes):
    measures what the name rules, pinyin and value shapes achieve on a vendor not yet in the file."""
    global _HELD_OUT
    previous, _HELD_OUT = _HELD_OUT, frozenset(compact(n) for n in names)
    field_names.cache_clear()
    code_spellings.cache_clear()
    try:
        yield
    finally:
        _HELD_OUT = previous
        field_names.cache_clear()
        code_spellings.cache_clear()


@dataclass(frozen=True)
class FieldNames:
    """Every spelling of one canonical field: compact names (strong), initials, words."""

    canonical: frozenset[str]  # field name, Chinese header and aliases
    synonyms: frozenset[str]
    initials: frozenset[str]
    words: tuple[str, ...]


@cache
def field_names(entity: str, name: str) -> FieldNames:
    f = schema.entity(entity).field(name)
    synonyms = tuple(vocabulary()["fields"].get(name, ()))
    chinese = [h for h in (*f.headers, *synonyms) if _CJK.search(h)]
    return FieldNames(
        canonical=frozenset(compact(n) for n in (f.name, *f.headers)),
        synonyms=frozenset(compact(n) for n in synonyms),
        initials=frozenset(i for i in (initials(c) for c in chinese) if len(i) >= 2),
        words=tuple(name.split("_")),
    )


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def name_score(relative: str, entity: str, name: str) -> tuple[float, str]:
    """How well a source name (inside its record) names `entity.name`, and why."""
    names = field_names(entity, name)
    leaf = relative.split(".")[-1]
    candidates = {compact(relative), compact(leaf)}
    if compact(relative) in names.canonical or compact(leaf) in names.canonical:
        return 0.97, "name"
    if candidates & names.synonyms:
        return 0.93, "synonym"
    best, why = 0.0, ""
    caps = leaf if re.fullmatch(r"[A-Z]{2,8}", leaf) else ""
    if caps:
        if caps in names.initials:
            return 0.9, "pinyin initials"
        for full in names.initials:
            if full.endswith(caps) or (len(caps) >= 3 and caps[0] == full[0] and _subsequence(caps, full)):
                best, why = 0.7, f"pinyin initials ⊂ {full}"
                break
    raw = [w for part in relative.split(".") for w in words(part)]
    target = set(names.words)
    qualifiers = set(entity.split("_")) - target  # `teamStatus` in tour_group is just `status`
    table = {w: ([t] if isinstance(t, str) else list(t)) for w, t in vocabulary()["tokens"].items()}
    variants = [set(raw), {table.get(w, [w])[0] for w in raw}, {table.get(w, [w])[-1] for w in raw}]
    for tokens in variants:
        tokens = (tokens - qualifiers) or tokens
        if tokens and target:
            dice = 2 * len(tokens & target) / (len(tokens) + len(target))
            if 0.75 * dice > best:
                best, why = 0.75 * dice, "words"
    for spelling in names.canonical | names.synonyms:
        if spelling and not _CJK.search(spelling) and len(compact(leaf)) >= 4:
            ratio = SequenceMatcher(None, compact(leaf), spelling).ratio()
            if ratio >= 0.8 and 0.7 * ratio > best:
                best, why = 0.7 * ratio, "similar name"
    return best, why


# ------------------------------------------------------------------------------------ shapes


def _date(text: str) -> bool:
    try:
        if _COMPACT_DATE.match(text):
            datetime.strptime(text, "%Y%m%d")
        elif _ISO_DATE.match(text):
            date.fromisoformat(text)
        else:
            return False
        return True
    except ValueError:
        return False


@cache
def _countries() -> dict[str, str]:
    from mappings.countries import country_lookup

    return country_lookup()


@dataclass
class Shape:
    """What a column's sample values look like (fractions of non-null values)."""

    n: int
    uscc: float = 0
    ric: float = 0
    date: float = 0
    compact_date: float = 0
    timestamp: float = 0
    compact_timestamp: float = 0
    mobile: float = 0
    integer: float = 0
    decimal: float = 0
    country: float = 0
    pinyin: float = 0
    person: float = 0
    guide_card: float = 0
    division: float = 0  # 6-digit administrative division codes (110105)
    distinct: int = 0
    separator: str | None = None
    is_list: bool = False


def shape_of(column: Column) -> Shape:
    from stdnum.cn import ric, uscc

    values = column.values
    n = len(values)
    shape = Shape(n=n, distinct=len(set(values)), is_list=column.is_list)
    if not n:
        return shape

    def share(test: Any) -> float:
        return sum(1 for v in values if test(v)) / n

    countries = _countries()
    from mappings.normalise import code_key

    shape.uscc = share(lambda v: len(v) == 18 and uscc.is_valid(v))
    shape.ric = share(lambda v: len(v) == 18 and ric.is_valid(v))
    shape.date = share(_date)
    shape.compact_date = share(lambda v: bool(_COMPACT_DATE.match(v)) and _date(v))
    shape.timestamp = share(lambda v: bool(_DATETIME.match(v) or _COMPACT_TIME.match(v)))
    shape.compact_timestamp = share(lambda v: bool(_COMPACT_TIME.match(v)))
    shape.mobile = share(lambda v: bool(_MOBILE.match(v)))
    shape.integer = share(lambda v: bool(_INT.match(v)))
    shape.decimal = share(lambda v: bool(_DECIMAL.match(v)))
    shape.country = share(lambda v: all(code_key(p) in countries for p in v.split("|")) and not _INT.match(v))
    shape.pinyin = share(lambda v: bool(_PINYIN.match(v)))
    shape.person = share(lambda v: bool(_PERSON.match(v)))
    shape.guide_card = share(lambda v: bool(_GUIDE_CARD.match(v)))
    shape.division = share(lambda v: len(v) == 6 and v.isdigit() and v[:2] in _PROVINCES)
    for sep in _SEPARATORS:
        if any(sep in v for v in values):
            shape.separator = sep
            break
    return shape


def expected_shape(f: schema.Field, entity: str | None = None) -> str:
    if "USCC_CHECKSUM" in f.rules or f.name.endswith("_uscc"):
        return "uscc"
    if f.name == "doc_no":
        return "doc"
    if "MOBILE_FORMAT" in f.rules:
        return "mobile"
    if "GUIDE_CARD_FORMAT" in f.rules:
        return "guide_card"
    if f.codes == "country":
        return "country"
    if f.codes == "division" or "DIVISION_CODE" in f.rules:
        return "division"
    if f.codes and f.codes not in SKIP_CODES:
        return "code"
    if f.name == "name_pinyin":
        return "pinyin"
    if f.norm == "name":  # a person's name only in entities of persons (an agency's name is text)
        return "person" if entity is None or "doc_no" in schema.entity(entity).field_names else "text"
    return {"date": "date", "timestamp": "timestamp", "int": "int", "decimal": "decimal", "list": "list", "set": "list"}.get(f.type, "text")


def shape_fit(expected: str, s: Shape) -> tuple[float, float]:
    """(bonus, factor): a confirming shape raises a name's score, a contradicting one cuts it."""
    if s.n == 0:
        return 0.0, 0.8  # no values: the name alone decides, a little less sure
    specific = {"uscc": s.uscc, "mobile": s.mobile, "guide_card": s.guide_card, "pinyin": s.pinyin, "person": s.person,
                "division": s.division}
    if expected in specific:
        fit = specific[expected]
        return (0.3, 1.0) if fit >= 0.9 else (0.0, 0.9) if fit >= 0.5 else (0.0, 0.35)
    if expected == "doc":
        if s.ric >= 0.5:
            return 0.3, 1.0
        return (0.0, 0.4) if s.date > 0.5 or s.uscc > 0.5 or s.integer > 0.9 else (0.0, 0.9)
    if expected == "date":
        return (0.2, 1.0) if s.date >= 0.9 else (0.0, 0.3)
    if expected == "timestamp":
        return (0.2, 1.0) if s.timestamp >= 0.9 else (0.0, 0.7) if s.date >= 0.9 else (0.0, 0.3)
    if expected == "int":
        return (0.1, 1.0) if s.integer >= 0.95 else (0.0, 0.3)
    if expected == "decimal":
        return (0.1, 1.0) if s.decimal >= 0.95 else (0.0, 0.3)
    if expected == "country":
        return (0.25, 1.0) if s.country >= 0.9 else (0.0, 0.5)
    if expected == "code":
        return (0.1, 1.0) if s.distinct <= 12 else (0.0, 0.5)
    if expected == "list":
        return (0.1, 1.0) if s.is_list or s.separator or s.country >= 0.9 else (0.0, 0.85)
    # free text: values that are clearly something else argue against it
    if s.uscc > 0.5 or s.ric > 0.5 or s.date > 0.5 or s.timestamp > 0.5 or (s.integer > 0.9 and s.distinct > 1):
        return 0.0, 0.5
    return 0.0, 1.0


SHAPE_ONLY = {"uscc": "uscc", "doc": "ric", "mobile": "mobile", "guide_card": "guide_card", "pinyin": "pinyin", "country": "country"}


# ------------------------------------------------------------------------------- code lists


@cache
def code_spellings(code_list: str) -> dict[str, str]:
    """Compact spelling → canonical value beyond what the engine accepts: English enums, vendor
    synonyms and pinyin initials of the Chinese labels (CJ 出境 → OUTBOUND)."""
    from mappings.engine import code_list_lookup

    spellings: dict[str, str] = {}
    for value, names in schema.code_lists()[code_list].labels.items():
        for s in (value, *vocabulary()["codes"].get(value, ()), *(initials(n) for n in names)):
            if len(s) >= 2 or s == value:
                spellings.setdefault(compact(s), value)
    for k, v in code_list_lookup(code_list).items():
        spellings.setdefault(compact(k), v)
    return spellings


def code_map(code_list: str, values: list[str]) -> tuple[dict[str, str] | None, list[str], float]:
    """(map, unresolved values, share resolved). No map when the engine accepts every value as is."""
    from mappings.engine import code_list_lookup
    from mappings.normalise import code_key

    accepted = code_list_lookup(code_list)
    distinct = sorted(set(values))
    if distinct and all(code_key(v) in accepted for v in distinct):
        return None, [], 1.0
    spellings = code_spellings(code_list)
    resolved = {v: spellings[compact(v)] for v in distinct if compact(v) in spellings}
    unresolved = [v for v in distinct if v not in resolved]
    return resolved or None, unresolved, (len(resolved) / len(distinct) if distinct else 0.0)


# ------------------------------------------------------------------------------- suggestions


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


# ----------------------------------------------------------------------------------- render


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000, sort_keys=False)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def render(suggestion: MappingSuggestion, description: str = "", source: str | None = None) -> str:
    """The mapping YAML (engine format) with a `# confidence` comment per line and a review list."""
    lines = [
        "# Suggested by `tourlink connector new` from a sample: review every line below 0.8 and the",
        f"# `unmatched` list, then run `tourlink connector check {source or suggestion.name}`.",
        f"name: {suggestion.name}",
        f"description: {_flow(description or suggestion.name)}",
        "entities:",
    ]
    for e in suggestion.entities.values():
        lines.append(f"  {e.entity}:")
        if e.explode:
            lines.append(f"    explode: {_flow(e.explode)}")
        if e.when:
            lines.append(f"    when: {e.when}")
        if e.distinct:
            lines.append("    distinct: true")
        lines.append("    fields:")
        for s in e.fields.values():
            note = f"  # confidence {s.confidence:.2f} ({s.why})"
            lines.append(f"      {s.field}: {_flow(s.spec())}{note}")
            if s.review:
                lines.append(f"      # REVIEW: {s.review}")
    review = [*(f"unmapped source column {c}" for c in suggestion.unmatched),
              *(f"required field without a source: {m}" for m in suggestion.missing),
              *suggestion.review]
    lines.append("unmatched:  # for review: delete this list once every item is decided")
    lines += [f"  - {_flow(item)}" for item in review] or ["  []"]
    if not review:
        lines[-2], lines[-1] = "unmatched: []", ""
    return "\n".join(lines).rstrip() + "\n"


def suggest_files(paths: list[Path | str], name: str) -> MappingSuggestion:
    """Convenience: read each sample file (one per stream) and suggest."""
    from connectors.onboarding.sample import read_sample

    return suggest([read_sample(p) for p in paths], name)
