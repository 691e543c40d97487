"""The conformance kit every ERP connector passes against its sandbox (cf. Airbyte acceptance tests).

Checks: reads are complete and equal the sandbox's ground truth; pagination terminates and matches
totals; a second incremental sync loads nothing new; a full refresh equals the incremental result;
state (watermarks) survives a restart (a new process reads them from the warehouse); every required
canonical field is mapped. One line per source in the tests:

    test_signed_json_conforms = conformance_test("sandbox_signed_json")
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

ENTITIES = ("tour_group", "group_member", "group_staff", "e_contract", "contract_tourist")


def _value(v: Any) -> Any:
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).astimezone(UTC).replace(tzinfo=None).isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal | float):
        return str(Decimal(str(v)).quantize(Decimal("0.01")))
    if isinstance(v, list | tuple):
        return "|".join(str(x) for x in v) or None
    if v == "":
        return None
    return v


def canonical_rows(entity: str, rows: list[dict[str, Any]], *, ignore: tuple[str, ...] = ()) -> dict[tuple, dict[str, Any]]:
    """Rows by natural key, with values in one comparable form (ISO text, |-joined lists)."""
    from tourlink import schema

    e = schema.entity(entity)
    out = {}
    for row in rows:
        key = tuple(_value(row[k]) for k in e.natural_key)
        out[key] = {f: _value(row.get(f)) for f in e.field_names if f not in ignore}
    return out


def differences(actual: dict[str, list[dict[str, Any]]], truth: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Human-readable differences between loaded rows and the ground truth, per entity (empty = equal).

    A truth value of None for `updated_at` means "any" (tombstones carry no time)."""
    problems: list[str] = []
    for entity in truth:
        want = canonical_rows(entity, truth[entity])
        got = canonical_rows(entity, actual.get(entity, []))
        if len(got) != len(actual.get(entity, [])):
            problems.append(f"{entity}: duplicate natural keys loaded")
        for key in want.keys() - got.keys():
            problems.append(f"{entity}: missing {key}")
        for key in got.keys() - want.keys():
            problems.append(f"{entity}: unexpected {key}")
        for key in want.keys() & got.keys():
            for name, value in want[key].items():
                if name == "updated_at" and value is None:
                    continue
                if got[key][name] != value:
                    problems.append(f"{entity} {key}: {name} = {got[key][name]!r}, sandbox has {value!r}")
    return problems


def warehouse_rows(url: str, entities: tuple[str, ...] = ENTITIES) -> dict[str, list[dict[str, Any]]]:
    """Every row of `entities` in the warehouse at `url` (a test's view of what was loaded)."""
    import sqlalchemy as sa

    from warehouse.tables import entity_tables

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for entity in entities:
                table = entity_tables[entity]
                rows = [dict(r._mapping) for r in conn.execute(sa.select(table))]
                names = set(schemaless_fields(entity))
                out[entity] = [{k: v for k, v in r.items() if k in names} for r in rows]
            return out
    finally:
        engine.dispose()


def schemaless_fields(entity: str) -> list[str]:
    from tourlink import schema

    return schema.entity(entity).field_names


def unmapped_required_fields(mapping_name: str) -> list[str]:
    """Required canonical fields the mapping leaves without a source (schema defaults count as mapped)."""
    from mappings.engine import load_mapping
    mapping = load_mapping(mapping_name)
    missing = []
    for rule in mapping.rules.values():
        for f in rule.entity.fields:
            if f.required == "R" and f.name not in rule.fields and f.default is None:
                missing.append(f"{rule.entity.name}.{f.name}")
    return missing


def check_conformance(source: Any, sandbox: Any) -> list[str]:
    """The kit against `source` pointed at its running `sandbox`, in the current TOURLINK_HOME: the
    problems found, empty when the source conforms. The one set of checks, for the tests
    (`conformance_test`) and for `tourlink connector check`."""
    from tourlink import settings
    from tourlink.flow import sync

    problems = [f"required field not mapped: {f}" for f in unmapped_required_fields(source.mapping)]
    first = sync(source)
    if not all(n > 0 for n in first.streams.values()):
        problems.append(f"reads are incomplete: {first.streams}")
    rows = warehouse_rows(settings.warehouse_url())
    problems += differences(rows, sandbox.ground_truth())[:20]
    quarantined = {e: c.get("quarantined", 0) for e, c in first.entities.items() if c.get("quarantined", 0)}
    if quarantined:
        problems.append(f"rows quarantined on the first sync: {quarantined}")
    second = sync(source)  # a new client, state read back from the warehouse: a restart
    if any(c.get("loaded", 0) or c.get("quarantined", 0) for c in second.entities.values()):
        problems.append(f"the second incremental sync loaded rows again: {second.entities}")
    if sum(second.streams.values()) >= sum(first.streams.values()):
        problems.append(f"the watermark did not survive the restart: read {second.streams} again")
    refreshed = sync(source, full_refresh=True)
    if refreshed.streams != first.streams or any(c.get("loaded", 0) for c in refreshed.entities.values()):
        problems.append(f"a full refresh differs from the incremental result: {refreshed.streams} vs {first.streams}")
    if warehouse_rows(settings.warehouse_url()) != rows:
        problems.append("the warehouse changed after a full refresh")
    return problems


def conformance_test(fixture: str):
    """A pytest test running the whole kit against the sandbox fixture named `fixture`."""
    import pytest

    @pytest.mark.slow
    def test(request, tourlink_home) -> None:
        box = request.getfixturevalue(fixture)
        assert check_conformance(box.source, box.sandbox) == []

    test.__name__ = f"test_{fixture}_conforms"
    return test


def extract(source: Any) -> dict[str, list[dict[str, Any]]]:
    """Read every stream of `source` and map it, without a warehouse: the extraction layer alone.

    Rows are deduplicated by natural key keeping the newest `updated_at`, as the merge would."""
    from datetime import UTC, datetime

    import polars as pl

    from connectors import erp
    from mappings.engine import load_mapping
    from tourlink import schema

    end = datetime.now(UTC).replace(microsecond=0)
    mapping = load_mapping(source.mapping)
    frames: dict[str, list[pl.DataFrame]] = {}
    with erp.build_client(source) as client:
        dialect = erp.vendor_of(source, client)  # no warehouse: no tombstone state
        for stream in source.streams:
            read = erp.read_stream(dialect, stream, None, end)
            client.discard_spilled()  # nothing is landed: no spilled body is kept
            for name, records, _ in read.pages:
                records = [r for r in records if not (r.get("deleted") and len(r) <= 2)]
                mapped = mapping.apply(erp.page_frame(records, name, dialect.list_columns), received_at=end, source=source.name)
                for entity, df in mapped.items():
                    frames.setdefault(entity, []).append(df)
    out = {}
    for entity, dfs in frames.items():
        df = pl.concat([d.select(schema.entity(entity).field_names) for d in dfs], how="vertical_relaxed")
        keys = list(schema.entity(entity).natural_key)
        if "updated_at" in df.columns:
            df = df.sort("updated_at", nulls_last=False)
        out[entity] = df.unique(subset=keys, keep="last", maintain_order=True).to_dicts()
    return out
