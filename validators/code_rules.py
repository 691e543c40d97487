"""`codes:` rules: a field's values must be in its code list (countries from pycountry, provinces and
division codes from `divisions`, the rest from the schema's code lists); `destination` depends on the
group's type.
"""

from __future__ import annotations

from functools import cache

import polars as pl

from tourlink.schema import Entity, Field, code_lists
from validators import divisions
from validators.catalogue import message
from validators.checks import Check, as_text


@cache
def country_codes() -> tuple[str, ...]:
    import pycountry

    return tuple(sorted(c.alpha_3 for c in pycountry.countries))


def code_values(codes: str) -> tuple[str, ...] | None:
    """The canonical values of a `codes:` name (None: checked by a rule of its own)."""
    if codes == "country":
        return country_codes()
    if codes == "province":
        return divisions.province_codes()
    if codes in ("division", "destination"):
        return None
    return code_lists()[codes].values


def code_checks(ent: Entity, f: Field) -> list[Check]:
    col = pl.col(f.name)
    msg = message("CODE_LIST", header=f.header)
    if f.codes == "destination":
        return [destination_check(ent, f, msg)]
    values = code_values(f.codes)
    if values is None:
        return []
    if f.type in ("list", "set"):
        failed = col.list.eval(~pl.element().is_in(values)).list.any()
    else:
        failed = ~col.is_in(values)
    return [Check("CODE_LIST", f.name, col.is_not_null() & failed, as_text(f), msg)]


def destination_check(ent: Entity, f: Field, msg: str) -> Check:
    """OUTBOUND groups go to countries (ISO alpha-3); others to division codes or provinces."""
    domestic = (
        divisions.current_codes().to_list()
        + list(divisions.province_codes())
        + list(divisions.province_names())
    )
    col = pl.col(f.name)
    outbound = pl.col("group_type") == "OUTBOUND"
    bad_country = col.list.eval(~pl.element().is_in(country_codes())).list.any()
    bad_domestic = col.list.eval(~pl.element().is_in(domestic)).list.any()
    failed = (
        pl.when(pl.col("group_type").is_null())
        .then(False)
        .when(outbound)
        .then(bad_country)
        .otherwise(bad_domestic)
    )
    return Check("CODE_LIST", f.name, col.is_not_null() & failed, as_text(f), msg)
