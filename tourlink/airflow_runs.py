"""What a DAG run is about, for every kind of run Airflow makes.

Airflow 3 stamps runs differently by kind, and the DAGs must compute the same window, month and day
from each:

- scheduled and `airflow backfill create` runs: a logical date and (nightly) a data interval;
- manual runs with a logical date: the interval Airflow infers from it;
- manual runs without one, and Asset-triggered runs: no logical date, no data interval, only
  `run_after` (a plain `datetime`, not a pendulum one: it has no `in_timezone`);
- any run may carry a conf (`month` for the monthly close; `since`/`until` ISO times for a sync).

These functions take the task's context (a mapping) and never Airflow objects beyond it, so they
are tested without a scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pendulum

TIMEZONE = "Asia/Shanghai"


def _local(value: datetime | str) -> pendulum.DateTime:
    """Any datetime (stdlib, pendulum, ISO string; naive means UTC, as Airflow stores them) in Shanghai."""
    parsed = pendulum.parse(value) if isinstance(value, str) else pendulum.instance(value, tz="UTC")
    assert isinstance(parsed, pendulum.DateTime)
    return parsed.in_timezone(TIMEZONE)


def _conf(context: Mapping[str, Any]) -> dict[str, Any]:
    dag_run = context.get("dag_run")
    return dict(getattr(dag_run, "conf", None) or {})


def moment(context: Mapping[str, Any]) -> pendulum.DateTime:
    """The instant the run stands for: its logical date, else when it was due to run (`run_after`)."""
    when = context.get("logical_date") or getattr(context.get("dag_run"), "run_after", None)
    if when is None:
        raise ValueError("the run has neither a logical date nor run_after")
    return _local(when)


def previous_month(when: datetime) -> str:
    """`YYYY-MM` of the month before `when` (in Shanghai): the month a close on `when` publishes."""
    first = _local(when).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def close_month(context: Mapping[str, Any]) -> str:
    """The month a monthly run closes: `params.month` / conf `month` if given, else the previous month."""
    month = (context.get("params") or {}).get("month") or _conf(context).get("month")
    if month:
        pendulum.from_format(str(month), "YYYY-MM")  # a malformed month fails here, not in SQL
        return str(month)
    return previous_month(moment(context))


def report_day(context: Mapping[str, Any]) -> str:
    """`YYYY-MM-DD` (Shanghai) of the day whose failures a steward report lists: conf `day`, else the run's day."""
    day = _conf(context).get("day")
    if day:
        return pendulum.from_format(str(day), "YYYY-MM-DD").strftime("%Y-%m-%d")
    return moment(context).strftime("%Y-%m-%d")


def sync_window(context: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """(since, until) of a nightly sync.

    Conf `since`/`until` win; else the data interval (scheduled, backfill, manual with a logical
    date); else (manual without logical date, Asset-triggered) nothing before and `run_after` as the
    end: the source's watermark decides where the sync starts."""
    conf = _conf(context)
    since, until = context.get("data_interval_start"), context.get("data_interval_end")
    if since is None or until is None:
        since, until = None, moment(context)
    if conf.get("since"):
        since = _local(conf["since"])
    if conf.get("until"):
        until = _local(conf["until"])
    if since is not None and until is not None and since >= until:
        raise ValueError(f"the window is empty: since {since.isoformat()} is not before until {until.isoformat()}")
    return (None if since is None else _local(since), _local(until))
