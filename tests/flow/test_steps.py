"""A sync as Airflow runs it: extract → validate → merge, each step finding its input in the run's
hand-over (`tourlink.flow.steps`), never in a mode switch. A step whose hand-over is missing fails
loudly; an extract that read rows never ends in a merge of nothing; a retried merge loads once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from connectors.reading import Window
from devkit.conformance import differences, warehouse_rows
from tests.dags.conftest import SandboxRegistry
from tourlink import settings
from tourlink.flow import HandoverMissing, steps
from tourlink.flow.handover import handover_for

SOURCE = "sandbox_signed_json"


@pytest.fixture
def registered(tmp_path, monkeypatch, tourlink_home):
    sandboxes = SandboxRegistry(tmp_path / "sources", monkeypatch)
    try:
        yield sandboxes.start(SOURCE)
    finally:
        sandboxes.stop()


def _batches() -> int:
    engine = sa.create_engine(settings.warehouse_url())
    with engine.connect() as conn:
        count = conn.execute(sa.text("select count(*) from batch where status = 'committed'")).scalar_one()
    engine.dispose()
    return count


def test_the_three_steps_hand_over_and_a_retried_merge_loads_once(registered):
    extracted = steps.extract(SOURCE, "run-1", Window())
    handover = handover_for(SOURCE, "run-1")
    assert extracted["rows"] > 0 and handover.exists("extract.json")
    validated = steps.validate(SOURCE, "run-1")
    assert validated["read"]["tour_group"] == 30 and handover.exists("staged.json")
    merged = steps.merge(SOURCE, "run-1")
    assert merged["entities"]["tour_group"]["loaded"] == 30
    assert differences(warehouse_rows(settings.warehouse_url()), registered.sandbox.ground_truth()) == []
    assert steps.merge(SOURCE, "run-1") == merged, "a retried merge answers with the committed batch"
    assert _batches() == 1


def test_a_step_whose_hand_over_is_missing_fails_loudly(registered):
    with pytest.raises(HandoverMissing, match="extract.json"):
        steps.validate(SOURCE, "never-extracted")
    steps.extract(SOURCE, "run-2", Window())
    with pytest.raises(HandoverMissing, match="validate task"):
        steps.merge(SOURCE, "run-2")
    assert _batches() == 0


def test_an_extract_that_read_rows_never_ends_in_a_merge_of_nothing(registered, monkeypatch):
    real = steps.stage

    def staging_nothing(inputs, **kwargs):
        staged, failures = real([], **kwargs)  # the rows got lost between the steps
        return staged, failures

    steps.extract(SOURCE, "run-3", Window())
    monkeypatch.setattr(steps, "stage", staging_nothing)
    with pytest.raises(steps.NothingStaged, match="read .* rows, validation staged none"):
        steps.validate(SOURCE, "run-3")
    with pytest.raises(HandoverMissing, match="validate task"):
        steps.merge(SOURCE, "run-3")
    assert _batches() == 0


def test_the_vendors_pushback_read_by_the_extract_reaches_the_merges_metrics(registered, monkeypatch):
    """Airflow's steps: the extract counts the 429s; the merge, on whatever worker, sends them with the
    batch's counts (docs/metrics.md), as a direct sync does."""
    registered.sandbox.faults.http_429 = 2
    sent = []
    monkeypatch.setattr(steps, "emit_batch", lambda payload, *a: sent.append(payload))
    assert steps.extract(SOURCE, "run-4", Window())["pushback"] == 2
    steps.validate(SOURCE, "run-4")
    steps.merge(SOURCE, "run-4")
    assert [(p["pushback"], p["entities"]["tour_group"]["loaded"]) for p in sent] == [(2, 30)]
