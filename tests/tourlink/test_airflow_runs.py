"""Every kind of DAG run Airflow 3 makes yields the right window, month and day: the contexts below
carry exactly what Airflow puts there for each kind (see the module's docstring)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pendulum
import pytest

from tourlink import airflow_runs

SHANGHAI = "Asia/Shanghai"


def _context(*, logical=None, start=None, end=None, run_after=None, conf=None, params=None) -> dict:
    return {
        "logical_date": logical,
        "data_interval_start": start,
        "data_interval_end": end,
        "params": params or {},
        "dag_run": SimpleNamespace(run_after=run_after or logical, conf=conf or {}),
    }


def test_a_scheduled_nightly_run_syncs_its_data_interval():
    start = pendulum.datetime(2026, 11, 21, 2, tz=SHANGHAI)
    end = pendulum.datetime(2026, 11, 22, 2, tz=SHANGHAI)
    assert airflow_runs.sync_window(_context(logical=start, start=start, end=end)) == (start, end)


def test_a_manual_or_asset_triggered_sync_without_logical_date_ends_at_run_after_and_starts_at_the_watermark():
    run_after = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)  # a plain datetime, as Airflow passes it
    since, until = airflow_runs.sync_window(_context(run_after=run_after))
    assert since is None
    assert until == pendulum.datetime(2026, 11, 22, 9, 30, tz=SHANGHAI)
    assert until.timezone_name == SHANGHAI


def test_a_sync_conf_overrides_the_window_and_an_empty_window_is_refused():
    conf = {"since": "2026-11-01T00:00:00+08:00", "until": "2026-11-03T00:00:00+08:00"}
    since, until = airflow_runs.sync_window(_context(run_after=datetime(2026, 11, 22, tzinfo=UTC), conf=conf))
    assert (since, until) == (pendulum.datetime(2026, 11, 1, tz=SHANGHAI), pendulum.datetime(2026, 11, 3, tz=SHANGHAI))
    with pytest.raises(ValueError, match="window is empty"):
        airflow_runs.sync_window(_context(run_after=datetime(2026, 11, 22, tzinfo=UTC), conf={**conf, "since": conf["until"]}))


def test_the_scheduled_close_of_the_first_publishes_the_previous_month_in_shanghai_time():
    # 03:00 on 1 Dec in Shanghai is still 30 Nov in UTC: the month is taken in Shanghai.
    tick = pendulum.datetime(2026, 12, 1, 3, tz=SHANGHAI)
    assert airflow_runs.close_month(_context(logical=tick)) == "2026-11"
    assert airflow_runs.close_month(_context(logical=tick.in_timezone("UTC"))) == "2026-11"


def test_an_asset_triggered_or_unconfigured_manual_close_uses_run_after_a_plain_datetime():
    run_after = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 1 Dec 01:00 in Shanghai
    assert airflow_runs.close_month(_context(run_after=run_after)) == "2026-11"
    assert airflow_runs.close_month(_context(run_after=datetime(2026, 11, 15, tzinfo=UTC))) == "2026-10"


def test_a_month_given_by_params_or_conf_wins_and_a_malformed_one_is_refused():
    run_after = datetime(2026, 11, 15, tzinfo=UTC)
    assert airflow_runs.close_month(_context(run_after=run_after, params={"month": "2026-07"})) == "2026-07"
    assert airflow_runs.close_month(_context(run_after=run_after, conf={"month": "2026-08"})) == "2026-08"
    with pytest.raises(ValueError):
        airflow_runs.close_month(_context(run_after=run_after, params={"month": "July"}))


def test_the_steward_report_day_is_the_runs_day_in_shanghai_or_the_conf_day():
    assert airflow_runs.report_day(_context(run_after=datetime(2026, 11, 21, 23, 0, tzinfo=UTC))) == "2026-11-22"
    tick = pendulum.datetime(2026, 11, 22, 7, tz=SHANGHAI)
    assert airflow_runs.report_day(_context(logical=tick)) == "2026-11-22"
    assert airflow_runs.report_day(_context(logical=tick, conf={"day": "2026-11-20"})) == "2026-11-20"


def test_a_run_with_neither_logical_date_nor_run_after_is_an_error_not_a_guess():
    with pytest.raises(ValueError, match="neither"):
        airflow_runs.moment({"dag_run": SimpleNamespace(run_after=None, conf={})})
