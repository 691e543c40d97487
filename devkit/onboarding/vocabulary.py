"""The names of a suggestion: how well a vendor's field name names a canonical field, and the
spellings of code-list values beyond what the engine accepts.

Evidence: canonical field names, the schema's Chinese headers and aliases, the vendor vocabulary in
`synonyms.yaml`, pinyin initials of every Chinese name (`ZJHM` 证件号码, derived with pypinyin, never
typed), and English word overlap (`lineName` → route name). `held_out` hides a vendor's own names from
the vocabulary, for an honest accuracy figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tourlink import schema

SYNONYMS_FILE = Path(__file__).parent / "synonyms.yaml"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[\u4e00-\u9fff]+")


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
