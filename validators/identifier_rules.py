"""Identifier rules: resident ID numbers (RIC, 15 → 18 digits), other document types, USCC, licence
and guide-card numbers, mobiles and division codes, as polars expressions over whole columns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cache

import polars as pl

from tourlink.schema import Entity, Field, code_lists
from validators import divisions
from validators import identifiers as ids
from validators.catalogue import message
from validators.checks import Check

RIC_DOC_TYPE = "CN_RIC"
MIN_BIRTH_YEAR = 1880
RIC_RULES = ("RIC", "DOCUMENT")


def original(name: str) -> str:
    return f"__received_{name}"


def ric_scope(f: Field) -> pl.Expr:
    """Rows whose value in `f` is a resident ID number."""
    if "DOCUMENT" in f.rules:
        return pl.col("doc_type") == RIC_DOC_TYPE
    return pl.lit(True)


def ric_checks(ent: Entity, f: Field, today: date) -> list[Check]:
    """RIC rules on `f`, whose column already holds the upgraded (18-digit) form."""
    v = pl.col(f.name)
    received = pl.col(original(f.name))
    scope = ric_scope(f) & v.is_not_null()
    well_formed = scope & pl.col(derived(f.name, "well_formed"))
    checksum_bad = well_formed & ~pl.col(derived(f.name, "check_ok"))
    birth = pl.col(derived(f.name, "birth"))
    birth_bad = well_formed & (birth.is_null() | (birth > today) | (birth.dt.year() < MIN_BIRTH_YEAR))
    province_bad = well_formed & ~v.str.slice(0, 2).is_in(divisions.ric_province_codes())
    county_known = v.str.slice(0, 6).is_in(ric_address_codes())
    h = f.header
    checks = [
        # `validate` replaced exactly the legacy numbers in scope by their (different, 18-digit) form.
        Check("RIC_LEGACY_15", f.name, scope & (received != v), received, message("RIC_LEGACY_15", header=h)),
        Check("RIC_FORMAT", f.name, scope & ~pl.col(derived(f.name, "well_formed")), received,
              message("RIC_FORMAT", header=h)),
        Check("RIC_CHECKSUM", f.name, checksum_bad, received, message("RIC_CHECKSUM", header=h)),
        Check("RIC_BIRTH_DATE", f.name, birth_bad, received, message("RIC_BIRTH_DATE", header=h)),
        Check("RIC_PROVINCE", f.name, province_bad, received, message("RIC_PROVINCE", header=h)),
        Check("RIC_COUNTY_UNKNOWN", f.name, well_formed & ~province_bad & ~county_known, received,
              message("RIC_COUNTY_UNKNOWN", header=h)),
    ]
    # Mismatches are only meaningful when the number itself is sound (a typo explains the rest).
    sound = well_formed & ~checksum_bad
    names = set(ent.field_names)
    if "gender" in names:
        gender = pl.col("gender")
        checks.append(Check("RIC_GENDER_MISMATCH", "gender", sound & gender.is_not_null() & (ids.ric_gender(v) != gender),
                            gender, message("RIC_GENDER_MISMATCH", header=h)))
    if "birth_date" in names:
        declared = pl.col("birth_date")
        checks.append(Check("RIC_BIRTH_MISMATCH", "birth_date", sound & ~birth_bad & declared.is_not_null() & (birth != declared),
                            declared.cast(pl.String), message("RIC_BIRTH_MISMATCH", header=h)))
    return checks


def derived(name: str, part: str) -> str:
    return f"__ric_{part}_{name}"


def ric_parts(f: Field) -> list[pl.Expr]:
    """Per-row facts several RIC rules share, computed once (the column holds the upgraded form)."""
    v = pl.col(f.name)
    return [
        v.str.contains(ids.RIC_PATTERN).alias(derived(f.name, "well_formed")),
        ids.ric_birth_date(v).alias(derived(f.name, "birth")),
    ]


def ric_checksum(f: Field) -> pl.Expr:
    """`check_ok`: well formed with a matching check character (needs the `ric_parts` columns).
    Every rule reads it together with `well_formed`, so malformed numbers need no checksum."""
    v = pl.col(f.name)
    well_formed = pl.col(derived(f.name, "well_formed"))
    return (well_formed & ids.mod11_2_matches(v)).fill_null(False).alias(derived(f.name, "check_ok"))


@cache
def ric_address_codes() -> tuple[str, ...]:
    """Ever-valid address codes plus the residence-permit prefixes 810000 / 820000 / 830000."""
    prefixes = tuple(p + "0000" for p in divisions.RESIDENCE_PERMIT_PREFIXES)
    return tuple(sorted(set(divisions.ever_valid_codes().to_list()) | set(prefixes)))


def document_checks(ent: Entity, f: Field, today: date) -> list[Check]:
    """`DOCUMENT`: RIC rules for CN_RIC, the document type's format otherwise."""
    checks = ric_checks(ent, f, today)
    v = pl.col(f.name)
    labels = code_lists()["doc_type"]
    mod11_2_ok = pl.col(derived(f.name, "well_formed")) & pl.col(derived(f.name, "check_ok"))
    for doc_type, pattern in ids.DOC_PATTERNS.items():
        of_type = pl.col("doc_type") == doc_type
        # Only this type's numbers are matched (the others are null, which `contains` skips).
        ok = mod11_2_ok if pattern == ids.MOD11_2 else pl.when(of_type).then(v).str.contains(pattern)
        failed = of_type & v.is_not_null() & ~ok
        checks.append(Check("DOC_FORMAT", f.name, failed, v,
                            message("DOC_FORMAT", header=f.header, doc=labels.label(doc_type))))
    return checks


def pattern_check(rule: str, pattern: str) -> Callable[[Entity, Field, date], list[Check]]:
    def build(ent: Entity, f: Field, today: date) -> list[Check]:
        v = pl.col(f.name)
        return [Check(rule, f.name, v.is_not_null() & ~v.str.contains(pattern), v, message(rule, header=f.header))]

    return build


def uscc_checks(ent: Entity, f: Field, today: date) -> list[Check]:
    v = pl.col(f.name)
    return [Check("USCC_CHECKSUM", f.name, v.is_not_null() & ~ids.uscc_valid(v), v, message("USCC_CHECKSUM", header=f.header))]


def mobile_checks(ent: Entity, f: Field, today: date) -> list[Check]:
    v = pl.col(f.name)
    failed = v.is_not_null() & ~v.str.contains(ids.MOBILE_AS_RECEIVED_PATTERN)
    return [Check("MOBILE_FORMAT", f.name, failed, v, message("MOBILE_FORMAT", header=f.header))]


def division_checks(ent: Entity, f: Field, today: date) -> list[Check]:
    v = pl.col(f.name)
    valid = v.str.contains(ids.DIVISION_PATTERN) & v.is_in(divisions.current_codes().to_list())
    return [Check("DIVISION_CODE", f.name, v.is_not_null() & ~valid, v, message("DIVISION_CODE", header=f.header))]
