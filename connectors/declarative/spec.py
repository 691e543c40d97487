"""A vendor's declaration: its dialect's preset (`presets/<dialect>.yaml`) under its registry options.

Every key of a preset may be overridden by the registry file's `options` (a dict-valued key is
merged one level deep), so a new vendor is a registry file: `dialect: rest` and the keys below, or
a preset's dialect and only what differs. The keys:

    auth / auth_options      plug-in by name (`connectors.declarative.auth.PLUGINS`) and its options
    format                   json | jsonapi | xml
    records                  (json) dotted path of the record list; a body without it is an error
    xml                      {namespaces, head, records: "t:Body/t:Team", lists, trust_detected_encoding}
                             (the last: read a body declared GBK that is UTF-8 as UTF-8, not refuse it)
    total                    dotted path of the announced total (xml: within the head)
    error                    {path, ok, retry, throttle, busy, auth, message} (xml: paths within the head), or `jsonapi`
    paging                   {style: page-number|offset|cursor|next-link|after-id|single, param,
                              size_param, max_size, default_size, next, more}
    window                   {since_param, until_param, format: iso|strftime, timezone, since_default}
    updated                  {field, format}: the record's update time (the stream's watermark)
    key                      the fields that identify a record (duplicates across pages collapse)
    list_columns, extension  child lists every frame carries; the raw bodies' file extension
    resources                {stream: {path, key, records, tombstones, dependent: {field: {path, …}}}}
    max_concurrency, requests_per_second, max_body_bytes   how hard the vendor may be asked
    spill_body_bytes         bodies larger than this go to a temp file, not memory (default 8 MiB)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.http.errors import ParameterError
from connectors.registry import SourceConfig

PRESETS = Path(__file__).parent / "presets"
SPEC_KEYS = frozenset({
    "auth", "auth_options", "format", "records", "xml", "total", "error", "paging", "window", "updated",
    "key", "list_columns", "extension", "resources", "max_concurrency", "requests_per_second", "max_body_bytes",
    "spill_body_bytes",
})
DEFAULT_CONCURRENCY = 4  # requests in flight per source unless its registry file says otherwise


@dataclass(frozen=True)
class Resource:
    """One stream of a vendor: where it lives and what is particular about it."""

    name: str
    path: str
    key: tuple[str, ...]
    records: str | None = None  # overrides the vendor's records path
    tombstones: str | None = None  # a named completion (`known-records`)
    dependent: dict[str, dict[str, Any]] = field(default_factory=dict)  # field -> {path, records, skip_when}


@dataclass(frozen=True)
class Spec:
    """What `connectors.declarative.reader.Declarative` needs to read a vendor."""

    dialect: str
    values: dict[str, Any]
    resources: dict[str, Resource]

    def get(self, key: str, default: Any = None) -> Any:
        value = self.values.get(key)
        return default if value is None else value

    def part(self, key: str) -> dict[str, Any]:
        value = self.values.get(key)
        return value if isinstance(value, dict) else {}

    @property
    def list_columns(self) -> tuple[str, ...]:
        return tuple(self.get("list_columns", ()))


@functools.cache
def preset(dialect: str) -> dict[str, Any]:
    """The preset of `dialect` as written (an empty one when the dialect has none)."""
    path = PRESETS / f"{dialect}.yaml"
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def from_flat_rest_options(options: dict[str, Any]) -> dict[str, Any]:
    """The first `rest` registry files' flat options (`paths`, `next`, `cursor_param`, `since_param`, …)
    as spec keys; keys already in spec form pass through."""
    out: dict[str, Any] = {k: v for k, v in options.items() if k in SPEC_KEYS}
    if "paths" in options:
        out.setdefault("resources", {s: {"path": p} for s, p in (options["paths"] or {}).items()})
    paging: dict[str, Any] = {}
    if options.get("next"):
        paging["next"] = options["next"]
        paging["style"] = "cursor" if options.get("cursor_param") else "next-link"
        if options.get("cursor_param"):
            paging["param"] = options["cursor_param"]
    if options.get("page_size_param"):
        paging["size_param"] = options["page_size_param"]
    if paging:
        out["paging"] = {**paging, **(out.get("paging") or {})}
    window = {k: options[k] for k in ("since_param", "until_param") if options.get(k)}
    if window:
        out["window"] = {**window, **(out.get("window") or {})}
    updated = {k: options[f"updated_{k}"] for k in ("field", "format") if options.get(f"updated_{k}")}
    if updated:
        out["updated"] = {**updated, **(out.get("updated") or {})}
    if options.get("key_field") and "key" not in out:
        out["key"] = [options["key_field"]]
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "resources":
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def spec_of(source: SourceConfig, dialect: str | None = None) -> Spec:
    """The declaration `source` is read with: its dialect's preset under its registry options."""
    dialect = dialect or source.dialect
    options = from_flat_rest_options(source.options) if dialect == "rest" else {
        k: v for k, v in source.options.items() if k in SPEC_KEYS
    }
    values = _merge(preset(dialect), options)
    if values.get("format") not in {"json", "jsonapi", "xml"}:
        raise ParameterError(f"{source.name}: format must be json, jsonapi or xml, got {values.get('format')!r}")
    default_key = tuple(values.get("key") or ("id",))
    resources = {}
    for name, declared in (values.get("resources") or {}).items():
        declared = declared if isinstance(declared, dict) else {"path": declared}
        if not declared.get("path"):
            raise ParameterError(f"{source.name}: resource {name!r} declares no path")
        resources[str(name)] = Resource(
            name=str(name),
            path=str(declared["path"]),
            key=tuple(declared.get("key") or default_key),
            records=declared.get("records"),
            tombstones=declared.get("tombstones"),
            dependent=dict(declared.get("dependent") or {}),
        )
    if dialect == "rest" and not resources:
        raise ParameterError(f"{source.name}: a rest source needs options.paths (stream -> path) or options.resources")
    return Spec(dialect, values, resources)
