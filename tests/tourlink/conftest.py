"""The pipeline against a warehouse on each database the platform runs: embedded SQLite and a real
PostgreSQL schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.load import Warehouse

from .filings import AGENCY_CSV


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def warehouse(warehouse_url, tourlink_home, tmp_path) -> Warehouse:
    wh = Warehouse(warehouse_url, landing_dir=tmp_path / "landing")
    yield wh
    wh.engine.dispose()


@pytest.fixture
def agency_csv(tmp_path) -> Path:
    path = tmp_path / "travel_agency.csv"
    path.write_text(AGENCY_CSV, encoding="utf-8")
    return path
