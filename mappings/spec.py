"""Mapping specs: load and validate a mapping YAML (a template, a source dialect's, a file) into a `Mapping`.

The format is described in docs/architecture.md ("Mapping YAML") and mappings/README.md. A field is
a source column name or a dict of directives (`from`, `map`, `split`, `format`, `scale`, `const`); an
entity may be `distinct`, `explode` a list column, or apply only `when` a column is not null. Every
name is checked against the canonical schemas when the file loads, not when rows arrive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from tourlink import schema
from tourlink.frames import SourceFrame

TEMPLATE_DIR = Path(__file__).parent / "templates"
SOURCE_DIR = Path(__file__).parent / "sources"
CANONICAL_PREFIX = "canonical:"
_DIRECTIVES = {"from", "map", "split", "format", "scale", "const"}
_ENTITY_KEYS = {"fields", "distinct", "explode", "when"}
_WHEN = re.compile(r"^\s*(?P<column>.+?)\s+not\s+null\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class FieldRule:
    """How one canonical field is filled: a source column (or constant) and its directives."""

    source: str | None = None
    const: Any = None
    map: dict[str, str] | None = None
    split: tuple[str, ...] | None = None
    format: str | None = None
    scale: float | None = None


@dataclass(frozen=True)
class EntityRule:
    entity: schema.Entity
    fields: dict[str, FieldRule]
    distinct: bool = False
    explode: str | None = None
    when: str | None = None


@dataclass(frozen=True)
class Mapping:
    """A loaded mapping. `headers` = "schema" (Chinese headers + aliases) or "canonical" (field names)
    fills every field not listed from the source column of that name; None maps listed fields only."""

    name: str
    rules: dict[str, EntityRule]
    description: str = ""
    detect_headers: tuple[str, ...] = ()
    headers: str | None = None
    split: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)

    @property
    def entities(self) -> tuple[str, ...]:
        return tuple(self.rules)

    def apply(self, frame: SourceFrame, *, received_at: datetime, source: str) -> dict[str, pl.DataFrame]:
        """Map `frame` onto each entity of this mapping (see docs/architecture.md, Mapping → validator).

        `received_at` fills `$received_at` defaults; `source` names the connector (for messages).
        """
        from mappings.application import apply_mapping  # the hot path; it needs these types in turn

        return apply_mapping(self, frame, received_at=received_at, source=source)


# --------------------------------------------------------------------------------------- loading


def _field_rule(entity: schema.Entity, name: str, spec: Any, where: str) -> FieldRule:
    if name not in entity.field_names:
        raise ValueError(f"{where}: {entity.name} has no field {name!r}; fields: {', '.join(entity.field_names)}")
    if isinstance(spec, str):
        return FieldRule(source=spec)
    if not isinstance(spec, dict) or not spec.keys() <= _DIRECTIVES:
        raise ValueError(f"{where}: {entity.name}.{name} must be a column name or a dict of {sorted(_DIRECTIVES)}")
    split = spec.get("split")
    return FieldRule(
        source=spec.get("from"),
        const=spec.get("const"),
        map={str(k): str(v) for k, v in spec["map"].items()} if spec.get("map") else None,
        split=(split,) if isinstance(split, str) else tuple(split) if split else None,
        format=spec.get("format"),
        scale=spec.get("scale"),
    )


def _entity_rule(name: str, spec: dict[str, Any] | None, where: str) -> EntityRule:
    entity = schema.entity(name)
    spec = spec or {}
    unknown = spec.keys() - _ENTITY_KEYS
    if unknown:
        raise ValueError(f"{where}: {name}: unknown keys {sorted(unknown)}; allowed {sorted(_ENTITY_KEYS)}")
    when = None
    if spec.get("when"):
        match = _WHEN.match(str(spec["when"]))
        if not match:
            raise ValueError(f"{where}: {name}.when must read '<column> not null'")
        when = match["column"]
    fields = {k: _field_rule(entity, k, v, where) for k, v in (spec.get("fields") or {}).items()}
    return EntityRule(entity, fields, bool(spec.get("distinct")), spec.get("explode"), when)


def parse_mapping(spec: dict[str, Any], where: str = "<mapping>", path: Path | None = None) -> Mapping:
    """A mapping from its YAML document (already parsed)."""
    if "name" not in spec or not spec.get("entities"):
        raise ValueError(f"{where}: a mapping needs `name` and `entities`")
    headers = spec.get("headers")
    if headers not in (None, "schema", "canonical"):
        raise ValueError(f"{where}: headers must be 'schema' or 'canonical'")
    split = spec.get("split") or ()
    return Mapping(
        name=spec["name"],
        description=spec.get("description", ""),
        detect_headers=tuple((spec.get("detect") or {}).get("headers", ())),
        headers=headers,
        split=(split,) if isinstance(split, str) else tuple(split),
        rules={k: _entity_rule(k, v, where) for k, v in spec["entities"].items()},
        path=path,
    )


def _read(path: Path) -> Mapping:
    return parse_mapping(schema.read_yaml(path), str(path), path)


def canonical_mapping(entity: str) -> Mapping:
    """The canonical exchange format of one entity: canonical field names as headers, lists `|`."""
    return Mapping(
        name=f"{CANONICAL_PREFIX}{entity}",
        description=f"规范格式：{schema.entity(entity).label}",
        headers="canonical",
        rules={entity: EntityRule(schema.entity(entity), {})},
    )


@cache
def templates() -> tuple[Mapping, ...]:
    """The built-in import templates (SPEC section 5), in file-name order."""
    return tuple(_read(p) for p in sorted(TEMPLATE_DIR.glob("*.yaml")))


def mapping_folders() -> tuple[Path, ...]:
    """Where mappings are looked up by name: `TOURLINK_MAPPINGS` first (a deployment's own), then the
    package's templates and source mappings."""
    from tourlink import settings

    extra = settings.mappings_dir()
    return (extra, TEMPLATE_DIR, SOURCE_DIR) if extra else (TEMPLATE_DIR, SOURCE_DIR)


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A template (`roster_template`), a canonical format (`canonical:tour_group`), a source mapping
    (`signed_json` → mappings/sources/signed_json.yaml) or a YAML file path."""
    text = str(name_or_path)
    if text.startswith(CANONICAL_PREFIX):
        return canonical_mapping(text[len(CANONICAL_PREFIX):])
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return _read(path)
    folders = mapping_folders()
    for folder in folders:
        candidate = folder / f"{text}.yaml"
        if candidate.exists():
            return _read(candidate)
    known = [p.stem for d in folders for p in sorted(d.glob("*.yaml"))]
    raise KeyError(f"unknown mapping {text!r}; known: {', '.join(known)}, canonical:<entity>")
