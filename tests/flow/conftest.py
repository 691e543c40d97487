"""The flow against a warehouse on each database the platform runs (`warehouse`, tests/conftest.py),
and against the sandbox vendors (`sandbox_*`, tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .filings import AGENCY_CSV


@pytest.fixture
def agency_csv(tmp_path) -> Path:
    path = tmp_path / "travel_agency.csv"
    path.write_text(AGENCY_CSV, encoding="utf-8")
    return path
