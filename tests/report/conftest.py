from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.report import quarantine_sample


@pytest.fixture
def sample_engine(tmp_path):
    """An embedded SQLite warehouse holding the quarantine sample."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    quarantine_sample.seed(engine)
    yield engine
    engine.dispose()
