"""The `gov-portal` licensing feed synced by the flow: signed, paged, out of order and re-sent;
folded into agency state by the warehouse after each commit."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
import sqlalchemy as sa

from connectors import gov_portal
from connectors.registry import SourceConfig
from devkit.sandbox.gov_portal_server import PortalEmulator, _event, deliveries, sandbox_uscc, seed_events
from tourlink import flow
from warehouse import tables
from warehouse.agency_history import agency_state_on

KEY, SECRET = "portal-key", "portal-secret-不要外泄"
A, B, BRANCH, OUTLET = sandbox_uscc(101), sandbox_uscc(102), sandbox_uscc(201), sandbox_uscc(301)
STATE_COLUMNS = (
    "uscc", "name", "unit_type", "parent_uscc", "licence_no", "division_code", "business_scope",
    "outbound_granted_date", "established_date", "status", "status_date", "legal_rep", "address", "phone",
)


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setenv("TEST_PORTAL_KEY", KEY)
    monkeypatch.setenv("TEST_PORTAL_SECRET", SECRET)


def _source(portal: PortalEmulator, name: str = "gov_portal_test", **options) -> SourceConfig:
    return SourceConfig(
        name=name,
        dialect="gov-portal",
        base_url=portal.base_url,
        credentials={"gateway_key": "env:TEST_PORTAL_KEY", "gateway_secret": "env:TEST_PORTAL_SECRET"},
        options={"page_size": 4, **options},
    )


def _warehouse(url, tmp_path, label):
    from warehouse.load import Warehouse

    return Warehouse(url, landing_dir=tmp_path / f"landing-{label}")


def _agencies(wh) -> dict[str, tuple]:
    ta = tables.entity_tables["travel_agency"]
    with wh.engine.connect() as conn:
        rows = conn.execute(sa.select(*(ta.c[c] for c in STATE_COLUMNS))).all()
    return {r.uscc: tuple(r) for r in rows}


def _history(wh) -> list[tuple]:
    h = tables.agency_state_history
    with wh.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(h).order_by(h.c.uscc, h.c.valid_from)).all()]


def _synced(events, url, tmp_path, label, **options):
    wh = _warehouse(url, tmp_path, label)
    with PortalEmulator(key=KEY, secret=SECRET, events=events) as portal:
        result = flow.sync(_source(portal, **options), warehouse=wh)
    return wh, result


def test_a_request_with_a_wrong_signature_is_refused(credentials, monkeypatch, pg_url, tmp_path):
    monkeypatch.setenv("TEST_PORTAL_SECRET", "not-the-secret")
    wh = _warehouse(pg_url, tmp_path, "x")
    with PortalEmulator(key=KEY, secret=SECRET, events=seed_events()) as portal:
        with pytest.raises(gov_portal.PortalError, match="HTTP 401") as failure:
            flow.sync(_source(portal), warehouse=wh)
        assert portal.rejected_signatures == 1
    assert "not-the-secret" not in str(failure.value)


def test_the_feed_folds_into_the_agency_states_spec_section_4_2_describes(credentials, pg_url, tmp_path):
    wh, result = _synced(deliveries(seed_events(), seed=1), pg_url, tmp_path, "pg")
    assert result.streams["events"] == len(seed_events()) + 4  # every delivery read, re-sends included
    assert result.entities["licensing_event"]["loaded"] == len(seed_events())  # re-sends collapse on the key
    agencies = _agencies(wh)
    a, b = dict(zip(STATE_COLUMNS, agencies[A], strict=True)), dict(zip(STATE_COLUMNS, agencies[B], strict=True))
    assert (a["name"], a["legal_rep"]) == ("辽宁远航国际旅行社有限公司", "李红")
    assert (a["business_scope"], a["outbound_granted_date"], a["licence_no"]) == ("DOMESTIC|INBOUND|OUTBOUND", date(2022, 6, 15), "L-LN-CJ00101")
    assert (b["status"], b["status_date"], b["phone"]) == ("CANCELLED", date(2024, 6, 30), "0411-82345678")
    assert b["address"] is None  # the address change was withdrawn
    branch, outlet = agencies[BRANCH], agencies[OUTLET]
    assert (branch[2], branch[3], branch[9]) == ("BRANCH", A, "CANCELLED")
    assert (outlet[2], outlet[3], outlet[9]) == ("OUTLET", B, "ACTIVE")


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_shuffled_and_resent_deliveries_fold_to_the_effective_date_order_state(credentials, pg_url, tmp_path, seed):
    """Property: whatever order and however often the portal sends them, the state (and its history)
    equals what the same events give delivered once, in effective-date order."""
    in_order, _ = _synced(seed_events(), f"sqlite:///{tmp_path / 'ordered.db'}", tmp_path, "ordered")
    scrambled, _ = _synced(deliveries(seed_events(), seed=seed, resend=5), pg_url, tmp_path, "scrambled")
    assert _agencies(scrambled) == _agencies(in_order)
    assert _history(scrambled) == _history(in_order)


def test_a_late_event_with_an_earlier_effective_date_refolds(credentials, pg_url, tmp_path):
    wh = _warehouse(pg_url, tmp_path, "late")
    with PortalEmulator(key=KEY, secret=SECRET, events=deliveries(seed_events(), seed=2)) as portal:
        source = _source(portal)
        flow.sync(source, warehouse=wh)
        with wh.engine.connect() as conn:
            assert agency_state_on(conn, B, date(2023, 3, 1)).address is None
        # effective before B's suspension, sent after everything else
        portal.append([_event("LN2022-0200", "变更", B, "2022-12-01", "2024-07-02 09:00:00",
                              changes=[("经营场所", "大连市中山区人民路1号", "大连市沙河口区西安路9号")])])
        second = flow.sync(source, warehouse=wh)
    assert second.streams["events"] == 1  # only what came after the watermark
    with wh.engine.connect() as conn:
        assert agency_state_on(conn, B, date(2022, 11, 30)).address is None
        on_march = agency_state_on(conn, B, date(2023, 3, 1))
        assert (on_march.address, on_march.status) == ("大连市沙河口区西安路9号", "ACTIVE")
        assert agency_state_on(conn, B, date(2023, 8, 1)).status == "SUSPENDED"
        now = agency_state_on(conn, B, date(2025, 1, 1))
    assert dataclasses.asdict(now)["address"] == "大连市沙河口区西安路9号" and now.status == "CANCELLED"
    assert _agencies(wh)[B][STATE_COLUMNS.index("address")] == "大连市沙河口区西安路9号"


def test_state_history_answers_what_an_agency_could_do_on_a_date(credentials, pg_url, tmp_path):
    wh, _ = _synced(deliveries(seed_events(), seed=4), pg_url, tmp_path, "hist")
    with wh.engine.connect() as conn:
        assert agency_state_on(conn, A, date(2020, 3, 1)) is None  # before establishment
        # the outbound application of 2021-09 was rejected: no outbound scope until the 2022 grant
        assert agency_state_on(conn, A, date(2021, 12, 31)).business_scope == ("DOMESTIC", "INBOUND")
        assert "OUTBOUND" in agency_state_on(conn, A, date(2022, 6, 15)).business_scope
        assert agency_state_on(conn, A, date(2022, 12, 31)).name == "沈阳远航旅行社有限公司"
        assert agency_state_on(conn, BRANCH, date(2023, 1, 1)).status == "ACTIVE"
        assert agency_state_on(conn, BRANCH, date(2024, 3, 1)).status == "CANCELLED"


def test_a_resync_reads_from_the_watermark_and_survives_gateway_errors(credentials, pg_url, tmp_path):
    wh = _warehouse(pg_url, tmp_path, "wm")
    with PortalEmulator(key=KEY, secret=SECRET, events=deliveries(seed_events(), seed=5)) as portal:
        source = _source(portal)
        portal.fail_next(503, 502)
        first = flow.sync(source, warehouse=wh)
        assert wh.watermark(source.name, "events") == first.watermarks["events"]
        before = portal.requests
        again = flow.sync(source, warehouse=wh)
        assert again.streams["events"] == 0 and portal.requests - before == 1
    assert first.streams["events"] == len(seed_events()) + 4


def test_events_committed_by_a_run_that_died_before_folding_are_folded_by_the_next(credentials, pg_url, tmp_path,
                                                                                     monkeypatch):  # fmt: skip
    import tourlink.flow.batch
    from tourlink.flow.inputs import record_inputs

    wh = _warehouse(pg_url, tmp_path, "crash")
    with PortalEmulator(key=KEY, secret=SECRET, events=seed_events()) as portal:
        source = _source(portal)
        frame = gov_portal.events_frame([{**e, "id": i} for i, e in enumerate(seed_events(), 1)], source=source.name, file="p.json")
        with monkeypatch.context() as died:  # the process died between the commit and the fold
            died.setattr(tourlink.flow.batch, "after_commit", lambda *a, **k: {})
            flow.load_batch(record_inputs([frame], "gov_portal"), source=source.name, state={"events": "9999"}, warehouse=wh)
        assert _agencies(wh) == {}  # loaded, then the process died before the fold
        result = flow.sync(source, warehouse=wh)
    assert result.streams["events"] == 0 and result.entities["travel_agency"] == {"folded": 4}
    assert set(_agencies(wh)) == {A, B, BRANCH, OUTLET}


def test_the_registered_sandbox_source_syncs_through_the_registry_dispatch(tourlink_home, monkeypatch):
    import dataclasses

    from connectors import registry
    from devkit.sandbox import start_for

    declared = registry.get_source("gov_portal_liaoning_sandbox")
    portal = start_for(declared, port=0, export_env=False)
    try:
        for role, ref in declared.credentials.items():
            monkeypatch.setenv(ref.removeprefix("env:"), portal.credentials[role])
        result = flow.sync(dataclasses.replace(declared, base_url=portal.base_url))
    finally:
        portal.stop()
    assert result.entities["licensing_event"]["loaded"] == len(seed_events())
    assert result.entities["travel_agency"] == {"folded": 4}


def test_tourlink_sources_check_and_sync_read_the_sandbox_portal_from_the_command_line(tourlink_home, tmp_path):
    """`tourlink sources check` signs one request and loads nothing; `tourlink sync` loads and folds;
    a wrong secret fails the command (exit 3) without printing the secret."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    from connectors import registry
    from devkit.sandbox import start_for

    tourlink = str(Path(sys.executable).parent / "tourlink")
    declared = registry.get_source("gov_portal_liaoning_sandbox")
    portal = start_for(declared, port=0, export_env=False)
    try:
        env = os.environ | {ref.removeprefix("env:"): portal.credentials[role] for role, ref in declared.credentials.items()}
        folder = tmp_path / "registry"
        folder.mkdir()
        spec = yaml.safe_load(Path(declared.path).read_text(encoding="utf-8")) | {"base_url": portal.base_url}
        (folder / f"{declared.name}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        args = [declared.name, "--registry", str(folder)]
        check = subprocess.run([tourlink, "sources", "check", *args], env=env, capture_output=True, text=True, timeout=120)
        assert check.returncode == 0 and "OK (events: reachable)" in check.stdout, check.stderr
        assert not (tourlink_home / "warehouse.db").exists()

        synced = subprocess.run([tourlink, "sync", *args, "--json"], env=env, capture_output=True, text=True, timeout=300)
        summary = json.loads(synced.stdout.strip().splitlines()[-1])
        assert summary["entities"]["licensing_event"]["loaded"] == len(seed_events()), synced.stderr
        assert summary["entities"]["travel_agency"] == {"folded": 4}

        env["SANDBOX_GOV_PORTAL_SECRET"] = "wrong-secret-xyz"
        refused = subprocess.run([tourlink, "sync", *args], env=env, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 3 and "HTTP 401" in refused.stderr
        assert "wrong-secret-xyz" not in refused.stderr + refused.stdout and "Traceback" not in refused.stderr
    finally:
        portal.stop()


def test_a_forbidden_answer_fails_at_once_without_retrying(credentials, pg_url, tmp_path):
    wh = _warehouse(pg_url, tmp_path, "403")
    with PortalEmulator(key=KEY, secret=SECRET, events=seed_events()) as portal:
        portal.fail_next(403, 403, 403, 403)
        with pytest.raises(gov_portal.PortalAuthError, match=r"HTTP 403.*not retried; fix: check credentials gateway_key"):
            flow.sync(_source(portal, retries=3), warehouse=wh)
        assert portal.requests == 1


def test_a_cursor_that_never_advances_stops_the_walk_and_loads_nothing(credentials, pg_url, tmp_path):
    wh = _warehouse(pg_url, tmp_path, "stuck")
    with PortalEmulator(key=KEY, secret=SECRET, events=seed_events()) as portal:
        portal.stuck_cursor_after = 1004  # the second page answers lastId == afterId
        with pytest.raises(gov_portal.PortalError, match=r"cursor did not advance \(afterId=1004 answered lastId=1004"):
            flow.sync(_source(portal, max_pages=500), warehouse=wh)
        assert portal.requests == 2  # not 500 pages of the same events
    assert wh.watermark("gov_portal_test", "events") is None

