"""Fixtures shared by every test: an isolated TOURLINK_HOME, a real PostgreSQL schema, and a warehouse on
each database the platform runs (embedded SQLite and that PostgreSQL schema)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def tourlink_home(tmp_path, monkeypatch) -> Iterator:
    """A fresh TOURLINK_HOME (embedded SQLite warehouse, landing folder, reports) per test."""
    home = tmp_path / "tourlink-home"
    home.mkdir()
    monkeypatch.setenv("TOURLINK_HOME", str(home))
    monkeypatch.delenv("TOURLINK_WAREHOUSE_URL", raising=False)
    yield home


def _pg_server_url() -> str:
    return os.environ.get("TOURLINK_TEST_PG_URL", DEFAULT_PG_URL)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A SQLAlchemy URL whose search_path is a fresh schema of a real PostgreSQL, dropped afterwards.

    In CI a PostgreSQL that cannot be reached fails the test: these tests must never be skipped there.
    """
    base = _pg_server_url()
    engine = sa.create_engine(base)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("select 1")
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no PostgreSQL at {base}: {exc}")
    schema_name = f"t_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f'create schema "{schema_name}"')
    url = sa.engine.make_url(base).update_query_dict({"options": f"-csearch_path={schema_name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'drop schema if exists "{schema_name}" cascade')
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def warehouse(warehouse_url, tourlink_home, tmp_path) -> Iterator:
    from warehouse.load import Warehouse

    wh = Warehouse(warehouse_url, landing_dir=tmp_path / "landing")
    yield wh
    wh.engine.dispose()


# ------------------------------------------------------------------ vendor sandboxes
# A real vendor server per dialect on loopback (port 0), and its registry entry pointing at it with
# the credentials in environment variables (never in the registry file): the connectors' tests and
# the dev kit's (conformance, emulators) use them.


def _sandbox_source(name: str, **options) -> Iterator:
    from connectors.registry import load_sources
    from devkit.sandbox import sandboxed

    with sandboxed(load_sources()[name], **options) as box:
        yield box


@pytest.fixture
def sandbox_signed_json() -> Iterator:
    yield from _sandbox_source("sandbox_signed_json")


@pytest.fixture
def sandbox_oauth_cursor() -> Iterator:
    yield from _sandbox_source("sandbox_oauth_cursor")


@pytest.fixture
def sandbox_legacy_xml() -> Iterator:
    yield from _sandbox_source("sandbox_legacy_xml")


@pytest.fixture(params=["sandbox_signed_json", "sandbox_oauth_cursor", "sandbox_legacy_xml"])
def any_sandbox(request) -> Iterator:
    yield from _sandbox_source(request.param)


# ------------------------------------------------------------------ fault and fuzz suite figures
# tests/faults/ and the reader fuzz record what they injected (`faults_record`); the counts are added
# up over every worker (xdist hands `user_properties` to the controller) and printed at the end.

FIGURES = ("faults", "failed_runs", "rows_lost", "rows_duplicated", "crashes", "fuzz_cases")


@pytest.fixture
def faults_record(record_property):
    """`faults_record(name, n)`: add `n` to one of `FIGURES` for the suite's summary."""
    counts: dict[str, int] = {}

    def record(name: str, n: int) -> None:
        assert name in FIGURES, name
        counts[name] = counts.get(name, 0) + n

    yield record
    for name, n in counts.items():
        record_property(name, n)


def pytest_terminal_summary(terminalreporter):
    totals = dict.fromkeys(FIGURES, 0)
    seen = False
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "teardown" or not getattr(report, "user_properties", None):
                continue
            for name, n in report.user_properties:
                if name in totals:
                    totals[name] += n
                    seen = True
    for report in terminalreporter.stats.get("failed", []):  # a fault or fuzz case that raised
        if getattr(report, "when", None) == "call" and ("tests/faults/" in report.nodeid or "_fuzz" in report.nodeid):
            totals["crashes"] += 1
    if seen:
        terminalreporter.write_line(
            f"fault suite: {totals['faults']} faults injected ({totals['failed_runs']} runs failed cleanly and were rerun), "
            f"{totals['rows_lost']} rows lost, {totals['rows_duplicated']} duplicated, {totals['crashes']} crashes; "
            f"reader fuzz: {totals['fuzz_cases']} cases"
        )


@pytest.fixture
def sample_engine(tmp_path):
    """An embedded SQLite warehouse holding the quarantine sample (tests/report/quarantine_sample.py)."""
    from tests.report import quarantine_sample

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    quarantine_sample.seed(engine)
    yield engine
    engine.dispose()
