"""The platform's canonical entities (SPEC section 4), loaded from `tourlink/schemas/*.yaml`.

Everything downstream derives from these objects: mapping templates take their Chinese headers,
validators their rules, the warehouse its tables. Keep this module free of heavy imports: the CLI's
fast commands load it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SCHEMA_DIR = Path(__file__).parent / "schemas"

FIELD_TYPES = {"str", "int", "decimal", "date", "timestamp", "bool", "json", "list", "set"}
NORMS = {"code", "name", "text"}
REQUIRED = {"R", "C", "O"}

# Where sets and lists are stored as text (canonical CSV and warehouse columns).
LIST_SEPARATOR = "|"
# libyaml's safe loader where PyYAML was built with it: ~20 YAML files (schemas, code lists, rule
# catalogue, mappings) are parsed at the start of every import, ~10× faster than the pure-Python one.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """A YAML file of the project (schemas, mappings, catalogues), parsed safely."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader


@dataclass(frozen=True)
class Condition:
    """`required_when` / `default.when`: a test on another field of the same row."""

    field: str
    op: str  # "in", "not_in" or "contains"
    values: tuple[str, ...]


@dataclass(frozen=True)
class Field:
    name: str
    header: str
    type: str
    required: str = "O"
    norm: str = "text"
    codes: str | None = None
    rules: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    max_len: int | None = None
    pii: bool = False
    required_when: Condition | None = None
    default: Any = None
    default_when: Condition | None = None

    @property
    def headers(self) -> tuple[str, ...]:
        """The Chinese header and every accepted variant."""
        return (self.header, *self.aliases)


@dataclass(frozen=True)
class Entity:
    name: str
    label: str
    natural_key: tuple[str, ...]
    fields: tuple[Field, ...]
    parent: str | None = None
    parent_key: tuple[str, ...] = ()
    batch_rules: tuple[str, ...] = ()
    # Whose data a row is (`owner:` in the YAML): the field naming that agency, or, as
    # `<parent>.<field>`, the parent's field, reached by `parent_key` (a contract's tourists). An
    # agency's folder may hold only its own rows; quarantine and findings are grouped and
    # region-scoped by it. None: nobody's in particular (reference lists, guide app days).
    owner: str | None = None
    owner_of_parent: str | None = None
    _by_name: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def field(self, name: str) -> Field:
        return self._by_name[name]

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def has_updated_at(self) -> bool:
        return "updated_at" in self._by_name


@dataclass(frozen=True)
class CodeList:
    name: str
    labels: dict[str, tuple[str, ...]]  # canonical value -> (Chinese label, synonyms...)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(self.labels)

    def label(self, value: str) -> str:
        return self.labels[value][0]


def _condition(spec: dict[str, Any] | None) -> Condition | None:
    if not spec:
        return None
    for op in ("in", "not_in", "contains"):
        if op in spec:
            raw = spec[op]
            values = tuple(raw) if isinstance(raw, list) else (raw,)
            return Condition(field=spec["field"], op=op, values=tuple(str(v) for v in values))
    raise ValueError(f"condition {spec!r} needs one of in / not_in / contains")


def _field(entity: str, spec: dict[str, Any]) -> Field:
    where = f"{entity}.{spec.get('name')}"
    if spec.get("type") not in FIELD_TYPES:
        raise ValueError(f"{where}: type must be one of {sorted(FIELD_TYPES)}")
    if spec.get("required", "O") not in REQUIRED:
        raise ValueError(f"{where}: required must be R, C or O")
    if spec.get("norm", "text") not in NORMS:
        raise ValueError(f"{where}: norm must be one of {sorted(NORMS)}")
    default = spec.get("default") or {}
    return Field(
        name=spec["name"],
        header=spec["header"],
        type=spec["type"],
        required=spec.get("required", "O"),
        norm=spec.get("norm", "text"),
        codes=spec.get("codes"),
        rules=tuple(spec.get("rules", ())),
        aliases=tuple(spec.get("aliases", ())),
        max_len=spec.get("max_len"),
        pii=bool(spec.get("pii", False)),
        required_when=_condition(spec.get("required_when")),
        default=default.get("value"),
        default_when=_condition(default.get("when")),
    )


def _entity(spec: dict[str, Any]) -> Entity:
    name = spec["entity"]
    fields = tuple(_field(name, f) for f in spec["fields"])
    by_name = {f.name: f for f in fields}
    missing = [k for k in spec["natural_key"] if k not in by_name]
    if missing:
        raise ValueError(f"{name}: natural key fields {missing} are not declared")
    parent = spec.get("parent") or {}
    owner, owner_of_parent = _owner(name, spec.get("owner"), parent, by_name)
    return Entity(
        name=name,
        label=spec["label"],
        natural_key=tuple(spec["natural_key"]),
        fields=fields,
        parent=parent.get("entity"),
        parent_key=tuple(parent.get("key", ())),
        batch_rules=tuple(spec.get("batch_rules", ())),
        owner=owner,
        owner_of_parent=owner_of_parent,
        _by_name=by_name,
    )


def _owner(name: str, spec: str | None, parent: dict[str, Any], fields: dict[str, Field]) -> tuple[str | None, str | None]:
    """`owner: field` (a field of this entity) or `owner: parent.field` (the parent's, by a one-column key)."""
    if not spec:
        return None, None
    if "." not in spec:
        if spec not in fields:
            raise ValueError(f"{name}: owner field {spec!r} is not declared")
        return spec, None
    entity, owner = spec.split(".", 1)
    if entity != parent.get("entity") or len(parent.get("key", ())) != 1:
        raise ValueError(f"{name}: owner {spec!r} must name a field of its parent, joined by a one-column key")
    return None, owner


@cache
def entities() -> dict[str, Entity]:
    """Every canonical entity by name, in a stable order (parents before children)."""
    loaded = {}
    for path in sorted(SCHEMA_DIR.glob("*.yaml")):
        if path.name == "code_lists.yaml":
            continue
        entity = _entity(read_yaml(path))
        loaded[entity.name] = entity
    ordered = sorted(loaded.values(), key=lambda e: (e.parent is not None, e.name))
    for e in ordered:
        if e.owner_of_parent is not None and loaded[e.parent].owner != e.owner_of_parent:
            raise ValueError(f"{e.name}: owner {e.parent}.{e.owner_of_parent} is not {e.parent}'s owner field")
    return {e.name: e for e in ordered}


def entity(name: str) -> Entity:
    try:
        return entities()[name]
    except KeyError:
        raise KeyError(f"unknown entity {name!r}; known: {', '.join(entities())}") from None


@cache
def code_lists() -> dict[str, CodeList]:
    raw = read_yaml(SCHEMA_DIR / "code_lists.yaml")
    return {
        name: CodeList(name=name, labels={str(k): tuple(str(x) for x in v) for k, v in values.items()})
        for name, values in raw.items()
    }


# --------------------------------------------------------------------------------- field reference

_REQUIRED_ZH = {"R": "必填", "C": "条件必填", "O": "选填"}
_SPECIAL_CODES = {
    "country": "ISO 3166-1 alpha-3（也接受 alpha-2 与中文名）",
    "province": "省级区划代码（2位，也接受省份名称）",
    "division": "GB/T 2260 区划代码（6位）",
    "destination": "出境团：国家；其他：区划代码或省份名称",
}


def _condition_text(cond: Condition) -> str:
    op = {"in": "∈", "not_in": "∉", "contains": "含"}[cond.op]
    return f"`{cond.field}` {op} {', '.join(cond.values)}"


def _codes_text(codes: str) -> str:
    if codes in _SPECIAL_CODES:
        return _SPECIAL_CODES[codes]
    return "; ".join(f"`{v}` {labels[0]}" for v, labels in code_lists()[codes].labels.items())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reference_markdown() -> str:
    """The field reference of every canonical entity as Markdown, rendered from the schemas.

    Why generated, not written: the schemas are the single source, so the reference can never
    disagree with the templates, validators or warehouse (`tourlink schema-docs` writes it).
    """
    out = [
        "# 规范数据字段说明 (canonical field reference)",
        "",
        "Generated from `tourlink/schemas/*.yaml` by `tourlink schema-docs`; do not edit by hand.",
        "",
    ]
    for e in entities().values():
        out += [f"## `{e.name}` {e.label}", "", f"Natural key: {', '.join(f'`{k}`' for k in e.natural_key)}."]
        if e.parent:
            out.append(f"Belongs to `{e.parent}` by {', '.join(f'`{k}`' for k in e.parent_key)}.")
        if e.batch_rules:
            out.append(f"Batch rules: {', '.join(f'`{r}`' for r in e.batch_rules)}.")
        out += ["", "| 字段 field | 表头 header (variants) | 类型 type | 必填 | 规则 rules | 代码表 codes |",
                "|---|---|---|---|---|---|"]
        for f in e.fields:
            header = f.header + (f"（{'、'.join(f.aliases)}）" if f.aliases else "")
            kind = f.type + (f"({f.max_len})" if f.max_len else "") + (", PII" if f.pii else "")
            required = _REQUIRED_ZH[f.required]
            if f.required_when is not None:
                required += f": {_condition_text(f.required_when)}"
            if f.default is not None:
                required += f"; default `{f.default}`" + (f" when {_condition_text(f.default_when)}" if f.default_when else "")
            rules = ", ".join(f"`{r}`" for r in f.rules)
            codes = _codes_text(f.codes) if f.codes else ""
            out.append("| " + " | ".join(_cell(x) for x in (f"`{f.name}`", header, kind, required, rules, codes)) + " |")
        out.append("")
    return "\n".join(out)
