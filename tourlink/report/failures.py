"""What failed, where, why and how to fix it: the stewards' failure report, read from quarantine.

One `Failure` is one rule one quarantined row failed, with everything a steward needs to act on it:
the agency (name and USCC), the file and the row as the spreadsheet shows it, the field's Chinese
header, the offending value (masked when personal), the rule in plain Chinese and a fix hint from the
rule catalogue. `load_report` reads them for a `Scope` and computes totals and a daily trend.

Region scoping (统一平台，分级管理) happens in SQL, before anything is counted: an entry belongs to a
region when its own division code, or else its agency's, starts with the region's 2/4/6-digit prefix.
So a city's report never shows, nor counts, another city's rows. Entries whose region is unknown
appear only in the national report (no region).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from pathlib import PurePath
from typing import Any

import sqlalchemy as sa

from tourlink import schema
from tourlink.masking import mask_message, mask_value
from warehouse import tables as t

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
STATUSES = ("open", "resolved", "waived", "superseded")  # superseded: a later read of the row took over (issue 16)
STATUS_ZH = {"open": "待处理", "resolved": "已修正", "waived": "已豁免", "superseded": "已被取代"}
SEVERITY_ZH = {"ERROR": "错误", "WARN": "警告"}
TREND_DAYS = 14
UNKNOWN_AGENCY_ZH = "（未登记旅行社）"

_REGION = re.compile(r"^(\d{2}|\d{4}|\d{6})$")


def region_prefix(region: str | None) -> str | None:
    """Validate a region code (2, 4 or 6 digits; trailing `00` pairs of a division code are dropped).

    `210000` (Liaoning) scopes like `21`, `210100` (Shenyang) like `2101`; `210102` is a district.
    """
    if region is None or region == "":
        return None
    code = str(region).strip()
    if not _REGION.match(code):
        raise ValueError(f"region must be a 2, 4 or 6 digit division code, got {region!r}")
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


@dataclass(frozen=True)
class RuleText:
    rule: str
    name_zh: str
    hint_zh: str | None


@cache
def _catalogue() -> dict[str, RuleText]:
    """The validators' rule catalogue (`validators.catalogue()`), read defensively: the report must
    still render (with the rule id and the row's own message) where a rule is not catalogued."""
    try:
        import validators

        source: Any = getattr(validators, "catalogue", None)
        if source is None:
            from validators import catalogue as source  # type: ignore[no-redef]
        if not callable(source):
            source = getattr(source, "catalogue", None)
        entries = source() if callable(source) else {}
    except Exception:  # noqa: BLE001 - a missing or broken catalogue degrades the report, never breaks it
        return {}
    found = {}
    for rule, info in dict(entries).items():
        get = info.get if isinstance(info, dict) else lambda k, i=info: getattr(i, k, None)
        found[str(rule)] = RuleText(str(rule), get("name_zh") or str(rule), get("hint_zh"))
    return found


def rule_text(rule: str) -> RuleText:
    return _catalogue().get(rule) or RuleText(rule, rule, None)


@dataclass(frozen=True)
class Scope:
    """Which entries a report covers. Every filter narrows; `region` is the steward's jurisdiction."""

    region: str | None = None
    batch_id: str | None = None
    day: date | None = None  # the Asia/Shanghai day the entries were quarantined
    statuses: tuple[str, ...] = ("open",)
    agency: str | None = None
    rule: str | None = None
    source: str | None = None
    file: str | None = None  # the file (or API page) as recorded, or the name such paths end in

    def __post_init__(self) -> None:
        object.__setattr__(self, "region", region_prefix(self.region))
        bad = [s for s in self.statuses if s not in STATUSES]
        if bad:
            raise ValueError(f"unknown status {bad}; known: {STATUSES}")

    @property
    def label_zh(self) -> str:
        return f"地区 {self.region}" if self.region else "全国"


@dataclass
class Failure:
    """One rule failed by one quarantined row, ready to show (values already masked)."""

    quarantine_id: int
    batch_id: str
    source: str
    file: str | None
    row: int | None
    entity: str
    entity_zh: str
    agency_uscc: str | None
    agency_name: str
    division_code: str | None
    day: str  # YYYY-MM-DD, Asia/Shanghai
    status: str
    status_reason: str | None
    rule: str
    severity: str
    rule_zh: str
    hint_zh: str
    field: str | None
    field_zh: str | None
    value: str | None
    message: str | None

    @property
    def status_zh(self) -> str:
        return STATUS_ZH.get(self.status, self.status)

    @property
    def severity_zh(self) -> str:
        return SEVERITY_ZH.get(self.severity, self.severity)

    @property
    def file_name(self) -> str:
        """The file's own name (a steward knows `团队名单0301.xlsx`, not the server's folders)."""
        if not self.file:
            return ""
        return re.split(r"[\\/]", self.file)[-1]


@dataclass
class Count:
    key: str
    label: str
    failures: int
    entries: int


@dataclass
class FailureReport:
    scope: Scope
    generated_at: datetime
    failures: list[Failure]
    by_rule: list[Count]
    by_agency: list[Count]
    by_source: list[Count]
    trend_days: list[str]
    trend_by_rule: dict[str, list[int]] = field(default_factory=dict)
    trend_by_agency: dict[str, list[int]] = field(default_factory=dict)
    trend_total: list[int] = field(default_factory=list)

    @property
    def entry_count(self) -> int:
        return len({f.quarantine_id for f in self.failures})

    @property
    def agencies(self) -> list[tuple[str, str]]:
        return sorted({(f.agency_uscc or "", f.agency_name) for f in self.failures}, key=lambda a: a[1])

    @property
    def rules(self) -> list[tuple[str, str]]:
        return sorted({(f.rule, f.rule_zh) for f in self.failures})

    @property
    def sources(self) -> list[str]:
        return sorted({f.source for f in self.failures})

    @property
    def days(self) -> list[str]:
        return sorted({f.day for f in self.failures}, reverse=True)


def _utc_bounds(day: date) -> tuple[datetime, datetime]:
    """The Asia/Shanghai day as naive-UTC bounds (the warehouse stores naive UTC)."""
    start = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)
    return start, start + timedelta(days=1)


def _shanghai_day(ts: datetime) -> date:
    return ts.replace(tzinfo=UTC).astimezone(SHANGHAI).date()


def _region_column() -> sa.ColumnElement:
    return sa.func.coalesce(t.quarantine.c.division_code, t.entity_tables["travel_agency"].c.division_code)


def _scoped(scope: Scope, *, with_day: bool = True, with_status: bool = True) -> sa.Select:
    q, ta = t.quarantine, t.entity_tables["travel_agency"]
    stmt = sa.select(
        q.c.id, q.c.batch_id, q.c.source, q.c.file, q.c.row, q.c.entity, q.c.agency_uscc,
        _region_column().label("division_code"), q.c.rules, q.c.status, q.c.status_reason, q.c.created_at,
        ta.c.name.label("agency_name"), q.c.natural_key,
    ).select_from(q.outerjoin(ta, ta.c.uscc == q.c.agency_uscc))
    if scope.region:
        stmt = stmt.where(_region_column().like(scope.region + "%"))
    if scope.batch_id:
        stmt = stmt.where(q.c.batch_id == scope.batch_id)
    if scope.agency:
        stmt = stmt.where(q.c.agency_uscc == scope.agency)
    if scope.source:
        stmt = stmt.where(q.c.source == scope.source)
    if scope.file:  # as listed (the path given to `tourlink import`), or any path ending in its name
        name = PurePath(scope.file).name
        stmt = stmt.where(sa.or_(q.c.file.in_(sorted({scope.file, name})), q.c.file.endswith("/" + name, autoescape=True)))
    if with_status and scope.statuses:
        stmt = stmt.where(q.c.status.in_(scope.statuses))
    if with_day and scope.day:
        start, end = _utc_bounds(scope.day)
        stmt = stmt.where(q.c.created_at >= start, q.c.created_at < end)
    return stmt.order_by(q.c.agency_uscc, q.c.file, q.c.row, q.c.id)


def _rules(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        value = json.loads(value)
    return list(value or [])


def _field_zh(entity: str, name: str | None) -> str | None:
    if not name:
        return None
    try:
        return schema.entity(entity).field(name).header
    except KeyError:
        return name


def _entity_zh(entity: str) -> str:
    try:
        return schema.entity(entity).label
    except KeyError:
        return entity


def failures_of(row: Any) -> list[Failure]:
    """Every rule of one quarantine row as `Failure`s (values masked per the schema's pii flags)."""
    out = []
    for item in _rules(row.rules):
        rule = str(item.get("rule") or "")
        text = rule_text(rule)
        fld = item.get("field")
        message = mask_message(item.get("message"), fld, item.get("value"), entity=row.entity)
        out.append(
            Failure(
                quarantine_id=int(row.id),
                batch_id=row.batch_id,
                source=row.source,
                file=row.file,
                row=row.row,
                entity=row.entity,
                entity_zh=_entity_zh(row.entity),
                agency_uscc=row.agency_uscc,
                agency_name=row.agency_name or UNKNOWN_AGENCY_ZH,
                division_code=row.division_code,
                day=_shanghai_day(row.created_at).isoformat(),
                status=row.status,
                status_reason=row.status_reason,
                rule=rule,
                severity=str(item.get("severity") or "ERROR"),
                rule_zh=text.name_zh,
                hint_zh=text.hint_zh or message or "",
                field=fld,
                field_zh=_field_zh(row.entity, fld),
                value=mask_value(fld, item.get("value"), entity=row.entity),
                message=message,
            )
        )
    return out


def _counts(failures: list[Failure], key, label) -> list[Count]:
    n_fail: Counter = Counter()
    entries: dict[str, set[int]] = defaultdict(set)
    labels: dict[str, str] = {}
    for f in failures:
        k = key(f)
        n_fail[k] += 1
        entries[k].add(f.quarantine_id)
        labels[k] = label(f)
    return [Count(k, labels[k], n, len(entries[k])) for k, n in n_fail.most_common()]


def load_report(conn: sa.Connection, scope: Scope, *, now: datetime | None = None) -> FailureReport:
    """Read the failures of `scope` with their totals and a `TREND_DAYS`-day trend ending on the
    report's day (or today, Asia/Shanghai). The trend counts entries quarantined per day whatever
    their status now, in the same region, batch, agency and source."""
    now = now or datetime.now(UTC)
    failures = [f for row in conn.execute(_scoped(scope)) for f in failures_of(row)]
    if scope.rule:
        failures = [f for f in failures if f.rule == scope.rule]
    end_day = scope.day or now.astimezone(SHANGHAI).date()
    days = [end_day - timedelta(days=i) for i in range(TREND_DAYS - 1, -1, -1)]
    start, _ = _utc_bounds(days[0])
    _, end = _utc_bounds(end_day)
    trend_stmt = _scoped(scope, with_day=False, with_status=False).where(
        t.quarantine.c.created_at >= start, t.quarantine.c.created_at < end
    )
    index = {d.isoformat(): i for i, d in enumerate(days)}
    by_rule: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    by_agency: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    total = [0] * len(days)
    for row in conn.execute(trend_stmt):
        i = index.get(_shanghai_day(row.created_at).isoformat())
        if i is None:
            continue
        rules = {str(item.get("rule")) for item in _rules(row.rules)}
        if scope.rule and scope.rule not in rules:
            continue
        total[i] += 1
        by_agency[row.agency_uscc or ""][i] += 1
        for rule in rules if not scope.rule else {scope.rule}:
            by_rule[rule][i] += 1
    return FailureReport(
        scope=scope,
        generated_at=now,
        failures=failures,
        by_rule=_counts(failures, lambda f: f.rule, lambda f: f.rule_zh),
        by_agency=_counts(failures, lambda f: f.agency_uscc or "", lambda f: f.agency_name),
        by_source=_counts(failures, lambda f: f.source, lambda f: f.source),
        trend_days=[d.isoformat() for d in days],
        trend_by_rule=dict(sorted(by_rule.items())),
        trend_by_agency=dict(sorted(by_agency.items())),
        trend_total=total,
    )


def entry_region(conn: sa.Connection, quarantine_id: int) -> tuple[bool, str | None]:
    """(exists, division code) of one entry: what the web view checks before a steward may touch it."""
    q, ta = t.quarantine, t.entity_tables["travel_agency"]
    row = conn.execute(
        sa.select(_region_column()).select_from(q.outerjoin(ta, ta.c.uscc == q.c.agency_uscc)).where(q.c.id == quarantine_id)
    ).first()
    return (row is not None, row[0] if row else None)


def in_region(division_code: str | None, region: str | None) -> bool:
    prefix = region_prefix(region)
    return prefix is None or (division_code or "").startswith(prefix)


def regions_with_failures(day: date | str | None = None, *, engine: sa.Engine | None = None) -> list[str]:
    """Province codes with open failures (see `tourlink.report.publish`; here for the DAGs' import)."""
    from tourlink.report.publish import regions_with_failures as regions

    return regions(day, engine=engine)


def write_failure_report(out: Any, *, region: str | None = None, day: date | str | None = None, **kwargs: Any) -> Any:
    """Write one region's report into `out` (see `tourlink.report.publish.write_failure_report`)."""
    from tourlink.report.publish import write_failure_report as write

    return write(out, region=region, day=day, **kwargs)
