"""Published snapshots: frozen figures, a new version only when the figures change."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tests.warehouse import test_indicators_builder as built
from warehouse import snapshots
from warehouse.tables import indicator_snapshot

engine, wh = built.engine, built.wh  # the warehouse fixtures, on SQLite and PostgreSQL


def _figure(snapshot, region, indicator):
    return next(f for f in snapshot.figures if f["region"] == region and f["indicator"] == indicator)


def test_publishing_freezes_the_nation_every_province_and_every_prefecture(wh):
    wh.agency("A", division="210102")
    wh.agency("B", division="310101")
    wh.group("A", "G1")
    s = snapshots.publish(wh.engine, "2026-03")
    assert (s.month, s.version) == ("2026-03", 1)
    assert {f["region"] for f in s.figures} == {"CN", "21", "2101", "31", "3101"}
    assert len(s.figures) == 5 * 8
    assert _figure(s, "CN", 2) == {"region": "CN", "indicator": 2, "numerator": 1, "denominator": 2, "value": 50.0}


def test_identical_figures_return_the_latest_version_and_changed_ones_a_new_one(wh):
    wh.agency("A")
    wh.group("A", "G1")
    v1 = snapshots.publish(wh.engine, "2026-03")
    again = snapshots.publish(wh.engine, "2026-03")
    assert again.version == 1 and again.published_at == v1.published_at
    wh.group("A", "G-LATE-FILING", submitted=datetime(2026, 3, 30))
    v2 = snapshots.publish(wh.engine, "2026-03")
    assert v2.version == 2
    assert _figure(v2, "CN", 1)["numerator"] == 2


def test_a_published_version_never_changes_after_later_filings(wh):
    wh.agency("A")
    wh.group("A", "G1")
    v1 = snapshots.publish(wh.engine, "2026-03")
    wh.group("A", "G2")
    snapshots.publish(wh.engine, "2026-03")
    stored = snapshots.versions(wh.engine, "2026-03")
    assert [s.version for s in stored] == [1, 2]
    assert stored[0].figures == v1.figures and _figure(stored[0], "CN", 1)["numerator"] == 1
    assert snapshots.latest(wh.engine, "2026-03").version == 2
    with wh.engine.connect() as conn:
        digests = conn.execute(sa.select(indicator_snapshot.c.version, indicator_snapshot.c.digest)).all()
    assert len({d for _, d in digests}) == 2


def test_the_snapshot_module_has_no_update_path():
    import inspect

    source = inspect.getsource(snapshots).lower()
    assert ".update(" not in source and ".delete(" not in source and "update " not in source.replace("update path", "")
