"""Value rules: a period's end after its start, a scope that is consistent, positive and non-negative
numbers, nothing in the future.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from tourlink.schema import Entity, Field
from validators.catalogue import message
from validators.checks import Check, as_text, on_day

# DATE_ORDER compares a field with the start of its period.
PERIOD_STARTS = {"end_date": "start_date", "service_to": "service_from"}


def date_order_checks(ent: Entity, f: Field, today: date) -> list[Check]:
    start = ent.field(PERIOD_STARTS.get(f.name) or f.name.replace("end", "start").replace("_to", "_from"))
    failed = on_day(f) < on_day(start)
    return [Check("DATE_ORDER", f.name, failed, as_text(f), message("DATE_ORDER", header=f.header, other=start.header))]


def scope_checks(ent: Entity, f: Field, today: date) -> list[Check]:
    col = pl.col(f.name)
    failed = col.list.contains("TAIWAN") & ~col.list.contains("OUTBOUND")
    return [Check("SCOPE_INCONSISTENT", f.name, failed, as_text(f), message("SCOPE_INCONSISTENT", header=f.header))]


def comparison(rule: str, fails: Callable[[pl.Expr], pl.Expr]) -> Callable[[Entity, Field, date], list[Check]]:
    def build(ent: Entity, f: Field, today: date) -> list[Check]:
        return [Check(rule, f.name, fails(pl.col(f.name)), as_text(f), message(rule, header=f.header))]

    return build


def not_future_checks(ent: Entity, f: Field, today: date) -> list[Check]:
    return [Check("NOT_FUTURE", f.name, on_day(f) > today, as_text(f), message("NOT_FUTURE", header=f.header))]
