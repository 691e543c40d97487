"""`tourlink connector check`: is a new source ready to ship? A readiness report, nothing written.

The dry run maps records with the source's mapping and validates them exactly as a batch would (row
rules, then batch rules), without a warehouse: it lists what is mapped, the required canonical
fields without a source, and the rows that would be quarantined, split into the mapping's problems
(they block READY) and the vendor's own bad records (a steward's work; they do not), see `findings`.
The records come from the vendor itself (`live`, the default for a source not tagged `sandbox`:
the reader reads every stream, twice, and its failures are the report's) or from the recorded sample
(`tests/connectors/samples/<name>/`, `--offline`). A source tagged `sandbox` is served by the
project's emulator of its dialect: the kit of `devkit.conformance` runs against a fresh one in a
scratch TOURLINK_HOME (complete read, a second incremental sync loading nothing, a full refresh
equal to the incremental result). Open `# REVIEW` lines of the registry file and the mapping, and
the mapping's `unmatched:` list, are review items: READY needs them decided.
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
from devkit.onboarding.findings import Findings, classify, describe
from devkit.onboarding.live import LiveRead, live_read
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
    findings: Findings = field(default_factory=Findings)
    live: LiveRead | None = None  # None: the vendor was not asked (--offline, or a sandbox source)

    @property
    def ready(self) -> bool:
        return (not self.missing and not self.findings.mapping and not self.review and not self.conformance
                and not (self.live and self.live.problems) and sum(self.rows.values()) > 0)


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
    for n, frame in enumerate(frames):
        mapped = mapping.apply(frame, received_at=received, source=source.name)
        checked = validate_batch(mapped, existing_keys=lambda parent, keys: keys.head(0), today=date.today())
        for entity, df in checked.items():
            rows[entity] = rows.get(entity, 0) + df.height
            _, bad = split(df)
            for i, (file, row, issues) in enumerate(bad.select("_file", "_row", ISSUES).iter_rows()):
                for issue in issues:
                    if issue["severity"] == "ERROR":
                        bad_rows.append({"entity": entity, "file": file, "row": row, "rule": issue["rule"], "at": (n, i),
                                         "field": issue.get("field"), "value_key": hash(issue.get("value")) if issue.get("value") is not None else None,
                                         "message": mask_message(issue.get("message"), issue.get("field"), issue.get("value"), entity)})
    return rows, bad_rows


def _review_lines(path: Path | None) -> list[str]:
    if path is None or not Path(path).is_file():
        return []
    return [f"{Path(path).name}: {line.strip().removeprefix('#').strip()}"
            for line in Path(path).read_text(encoding="utf-8").splitlines() if line.lstrip().startswith("# REVIEW")]


def _open_review(mapping: Any, source: SourceConfig) -> list[str]:
    """The mapping's `unmatched:` items, then every `# REVIEW` line left in the mapping or registry file."""
    spec = yaml.safe_load(Path(mapping.path).read_text(encoding="utf-8")) or {} if mapping.path else {}
    items = [str(item) for item in spec.get("unmatched") or []]
    return items + _review_lines(mapping.path) + _review_lines(source.path)


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


def readiness(name: str, *, root: Path | str | None = None, conformance: bool = True, live: bool | None = None) -> Readiness:
    """The readiness report of source `name` (registry and mapping under `root`, default the repo).

    `live`: read the vendor itself (None: when the source is not tagged `sandbox`)."""
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
    report.review = _open_review(mapping, source)
    explodes = tuple(r.explode for r in mapping.rules.values() if r.explode)
    lists = tuple(dict.fromkeys((*explodes, *(source.option("list_columns") or ()))))
    if live is None:
        live = "sandbox" not in source.tags
    frames = None
    if live:
        report.live = live_read(dataclasses.replace(source, mapping=str(mapping.path or mapping.name)))
        frames = report.live.frames or None
    report.rows, report.quarantined = dry_run(source, mapping, frames or sample_frames(source, root, lists))
    report.findings = classify(report.rows, report.quarantined)
    report.pagination = _pagination(source)
    if conformance and not live and source.dialect in SANDBOXES and "sandbox" in source.tags and source.dialect != "sftp-drop":
        report.conformance = run_conformance(source, str(mapping.path or mapping.name))
    return report


def _live_lines(live: LiveRead | None) -> list[str]:
    if live is None:
        return ["vendor: not contacted (--offline, or a sandbox source: the conformance kit below)"]
    if not live.ran:
        return ["vendor: not contacted, fix first:", *(f"  - {p}" for p in live.problems)]
    head = (f"vendor: {live.requests} requests; read {', '.join(f'{s} {n}' for s, n in live.streams.items()) or 'nothing'}"
            + (f"; re-read from the watermark {', '.join(f'{s} {n}' for s, n in live.incremental.items())}" if live.incremental else ""))
    return [head, *(f"  - {p}" for p in live.problems)] if live.problems else [head + " (pagination ended, totals agreed, state round-trips)"]


def render(report: Readiness) -> str:
    """The report as a person reads it (English for engineers, the stewards' Chinese messages kept)."""
    lines = [f"source {report.source} ({report.dialect}), mapping {report.mapping}"]
    lines.append("mapped:")
    for entity, fields in report.mapped.items():
        lines.append(f"  {entity}: " + ", ".join(f"{f}←{s}" for f, s in fields.items()))
    lines.append("missing required fields: " + (", ".join(report.missing) or "none"))
    lines.append("open review items: " + (str(len(report.review)) if report.review else "none"))
    lines += [f"  - {item}" for item in report.review]
    lines += _live_lines(report.live)
    origin = "live read" if report.live and report.live.frames else "recorded sample"
    lines.append(f"dry run of the {origin}: " + (", ".join(f"{e} {n} rows" for e, n in report.rows.items()) or "no rows"))
    lines += describe(report.findings)
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
