"""`tourlink connector check`: is a new source ready to ship? A readiness report, nothing written.

Two halves. The dry run maps the recorded sample (`tests/connectors/samples/<name>/`) with the
source's mapping and validates it exactly as a batch would (row rules, then batch rules), without a
warehouse: it lists what is mapped, the required canonical fields without a source, and the rows that
would be quarantined with their rule and Chinese message. The conformance half (when the source's
dialect has a sandbox) runs the kit of `devkit.conformance` against a fresh sandbox in a scratch
TOURLINK_HOME: complete read equal to the sandbox's data, a second incremental sync loading nothing,
a full refresh equal to the incremental result.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from connectors.registry import SourceConfig, get_source
from devkit.onboarding.scaffold import REPO
from devkit.sandbox import SandboxSource, environment, sandboxed

__all__ = ["Readiness", "SandboxSource", "readiness", "render", "run_conformance", "sandboxed"]


@dataclass
class Readiness:
    source: str
    dialect: str
    mapping: str
    mapped: dict[str, dict[str, str]] = field(default_factory=dict)  # entity -> field -> source column
    missing: list[str] = field(default_factory=list)  # entity.field: required, no source, no default
    review: list[str] = field(default_factory=list)  # the mapping's `unmatched:` items still open
    rows: dict[str, int] = field(default_factory=dict)  # sample rows per entity
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # entity, file, row, rule, field, message
    pagination: dict[str, Any] = field(default_factory=dict)
    conformance: list[str] | None = None  # problems found by the kit; None: not run (no sandbox)

    @property
    def ready(self) -> bool:
        return not self.missing and not self.quarantined and not self.review and not self.conformance and sum(self.rows.values()) > 0


def _registry_dir(root: Path) -> Path:
    return root / "connectors" / "sources"


def _mapping(source: SourceConfig, root: Path) -> Any:
    from mappings.engine import load_mapping

    ref = source.mapping or source.dialect.replace("-", "_")
    local = root / "mappings" / "sources" / f"{ref}.yaml"
    return load_mapping(local if local.exists() else ref)


def sample_frames(source: SourceConfig, root: Path, list_columns: tuple[str, ...]) -> list[Any]:
    """The recorded samples as the frames the connector would hand the mapping."""
    from connectors.erp import page_frame
    from devkit.onboarding.sample import read_sample

    folder = root / "tests" / "connectors" / "samples" / source.name
    frames = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        records = [r for r in read_sample(path).records if not (r.get("deleted") and len(r) <= 2)]
        frames.append(page_frame(records, f"{source.name}/{path.name}", list_columns))
    return frames


def dry_run(source: SourceConfig, mapping: Any, frames: list[Any]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Map and validate the frames as a batch would; (rows per entity, the rows quarantine would get)."""
    from tourlink.frames import ISSUES
    from tourlink.masking import mask_message
    from validators import split, validate_batch

    received = datetime.now(UTC)
    rows: dict[str, int] = {}
    bad_rows: list[dict[str, Any]] = []
    for frame in frames:
        mapped = mapping.apply(frame, received_at=received, source=source.name)
        checked = validate_batch(mapped, existing_keys=lambda parent, keys: keys.head(0), today=date.today())
        for entity, df in checked.items():
            rows[entity] = rows.get(entity, 0) + df.height
            _, bad = split(df)
            for file, row, issues in bad.select("_file", "_row", ISSUES).iter_rows():
                for issue in issues:
                    if issue["severity"] == "ERROR":
                        bad_rows.append({"entity": entity, "file": file, "row": row, "rule": issue["rule"],
                                         "field": issue.get("field"),
                                         "message": mask_message(issue.get("message"), issue.get("field"), issue.get("value"), entity)})
    return rows, bad_rows


def _open_review(mapping: Any) -> list[str]:
    if mapping.path is None:
        return []
    spec = yaml.safe_load(Path(mapping.path).read_text(encoding="utf-8")) or {}
    return [str(item) for item in spec.get("unmatched") or []]


def _pagination(source: SourceConfig) -> dict[str, Any]:
    keys = ("paths", "format", "records", "next", "cursor_param", "total", "page_size", "page_size_param",
            "since_param", "until_param", "updated_field", "key_field", "lookback_minutes", "request_budget",
            "requests_per_second")
    shown = {k: source.options[k] for k in keys if k in source.options}
    shown["streams"] = list(source.streams)
    shown["incremental"] = bool(source.option("since_param") or source.dialect in ("signed-json", "oauth-cursor", "legacy-xml"))
    return shown


@contextmanager
def _scratch_home() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="tourlink-check-") as home, environment(
        {"TOURLINK_HOME": home, "TOURLINK_WAREHOUSE_URL": None}
    ):
        yield Path(home)


def run_conformance(source: SourceConfig, mapping_ref: str) -> list[str]:
    """The conformance kit against a fresh sandbox, in a scratch TOURLINK_HOME; the problems found."""
    from devkit.conformance import check_conformance

    with _scratch_home(), sandboxed(dataclasses.replace(source, mapping=mapping_ref)) as box:
        return check_conformance(box.source, box.sandbox)


def readiness(name: str, *, root: Path | str | None = None, conformance: bool = True) -> Readiness:
    """The readiness report of source `name` (registry and mapping under `root`, default the repo)."""
    from devkit.sandbox import SANDBOXES

    root = Path(root).resolve() if root else REPO
    source = get_source(name, _registry_dir(root))
    mapping = _mapping(source, root)
    report = Readiness(source.name, source.dialect, str(mapping.path or mapping.name))
    for entity, rule in mapping.rules.items():
        report.mapped[entity] = {f: (r.source or f"const {r.const}") for f, r in rule.fields.items()}
        for f in rule.entity.fields:
            if f.required == "R" and f.name not in rule.fields and f.default is None:
                report.missing.append(f"{entity}.{f.name}")
    report.review = _open_review(mapping)
    explodes = tuple(r.explode for r in mapping.rules.values() if r.explode)
    lists = tuple(dict.fromkeys((*explodes, *(source.option("list_columns") or ()))))
    report.rows, report.quarantined = dry_run(source, mapping, sample_frames(source, root, lists))
    report.pagination = _pagination(source)
    if conformance and source.dialect in SANDBOXES and "sandbox" in source.tags and source.dialect != "sftp-drop":
        report.conformance = run_conformance(source, str(mapping.path or mapping.name))
    return report


def render(report: Readiness) -> str:
    """The report as a person reads it (English for engineers, the stewards' Chinese messages kept)."""
    lines = [f"source {report.source} ({report.dialect}), mapping {report.mapping}"]
    lines.append("mapped:")
    for entity, fields in report.mapped.items():
        lines.append(f"  {entity}: " + ", ".join(f"{f}←{s}" for f, s in fields.items()))
    lines.append("missing required fields: " + (", ".join(report.missing) or "none"))
    lines.append("open review items: " + (str(len(report.review)) if report.review else "none"))
    lines += [f"  - {item}" for item in report.review]
    lines.append("sample dry run: " + (", ".join(f"{e} {n} rows" for e, n in report.rows.items()) or "no sample rows"))
    if report.quarantined:
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for q in report.quarantined:
            groups.setdefault((q["entity"], q["rule"], q["field"] or ""), []).append(q)
        lines.append(f"would be quarantined: {len({(q['entity'], q['file'], q['row']) for q in report.quarantined})} rows")
        for (entity, rule, name), items in groups.items():
            rows = sorted({q["row"] for q in items})
            shown = ", ".join(str(r) for r in rows[:8]) + (", …" if len(rows) > 8 else "")
            lines.append(f"  - {entity}.{name} {rule} × {len(items)} (rows {shown}), e.g. {items[0]['message']}")
    else:
        lines.append("would be quarantined: none")
    lines.append("pagination and incremental: " + ", ".join(f"{k}={v}" for k, v in report.pagination.items()))
    if report.conformance is None:
        lines.append("conformance kit: not run (the source is not tagged `sandbox`, or its dialect has no sandbox)")
    elif report.conformance:
        lines.append("conformance kit: FAILED")
        lines += [f"  - {p}" for p in report.conformance]
    else:
        lines.append("conformance kit: passed (complete read equals the sandbox, incremental re-sync loads nothing, full refresh equal)")
    lines.append("READY" if report.ready else "NOT READY")
    return "\n".join(lines)
