"""Identifier algorithms as polars expressions (SPEC section 3): whole columns, no per-row Python.

python-stdnum checks one value at a time (~50 s per million IDs) and ties an ID's county code to the
birth year, rejecting genuine old IDs; these expressions implement the same arithmetic column-wise.
"""

from __future__ import annotations

import polars as pl

# ISO 7064 MOD 11-2 weights: 2^(18-i) mod 11 for positions 1..17.
MOD11_2_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

# GB 32100: the 31-symbol alphabet and weights 3^(i-1) mod 31.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUW-Y]{18}$"

RIC_PATTERN = r"^\d{17}[\dX]$"
RIC_LEGACY_PATTERN = r"^\d{15}$"
LICENCE_PATTERN = r"^L-[A-Z]{2,4}-?(?:(?:CJ|GJ)-?)?\d{4,6}$"
GUIDE_CARD_PATTERN = r"^[DL]-\d{4}-\d{6}$"
MOBILE_PATTERN = r"^1[3-9]\d{9}$"
# The same language on the number as received: +86 / 0086, spaces and hyphens anywhere.
MOBILE_AS_RECEIVED_PATTERN = r"^[\s-]*(?:(?:\+[\s-]*8[\s-]*6|0[\s-]*0[\s-]*8[\s-]*6)[\s-]*)?1[\s-]*[3-9](?:[\s-]*\d){9}[\s-]*$"
DIVISION_PATTERN = r"^\d{6}$"
CITY_CODE_PATTERN = r"^\d{4}$"
PERIOD_PATTERN = r"^\d{4}-Q[1-4]$"

# DOC_FORMAT patterns per doc_type (SPEC section 3); MOD11_2 marks the types checked like a RIC.
MOD11_2 = "MOD11_2"
DOC_PATTERNS: dict[str, str] = {
    "CN_PASSPORT": r"^(?:E\d{8}|E[A-HJ-NP-Z]\d{7}|G\d{8})$",
    "EEP_HK_MO": r"^(?:C[0-9A-HJ-NP-Z]\d{7}|W\d{8})$",
    "EEP_TW": r"^(?:L\d{8}|T\d{8})$",
    "HRP_HK_MO": r"^[HM]\d{8}(?:\d{2})?$",
    "MTP_TW": r"^(?:\d{8}|[A-Z0-9]{10})$",
    "RP_HK_MO_TW": MOD11_2,
    "FOREIGN_PR_ID": MOD11_2,
    "FOREIGN_PASSPORT": r"^[A-Z0-9]{5,20}$",
}


def mod11_2_check(number: pl.Expr) -> pl.Expr:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits (null if they are not digits)."""
    body = number.str.slice(0, 17)
    value = mod11_2_value(body)
    check = pl.when(value == 10).then(pl.lit("X")).otherwise(value.cast(pl.String))
    return pl.when(body.str.contains(r"^\d{17}$")).then(check)


def mod11_2_value(body: pl.Expr) -> pl.Expr:
    """The check value (0-10, X = 10) of 17 digits; garbage for anything else, so callers guard.

    The weights are 2^(17-i) mod 11 and 13 = 2 (mod 11), so the weighted sum is the 17 digits read
    as a base-13 number (python-stdnum's identity): one integer parse instead of 17 slices.
    """
    remainder = body.str.to_integer(base=13, strict=False) % 11
    return ((1 - 2 * remainder) % 11 + 11) % 11


def mod11_2_matches(number: pl.Expr) -> pl.Expr:
    """The 18th character matches the MOD 11-2 check of the first 17, for numbers already known to be
    17 digits plus [0-9X] (RIC_PATTERN); compared as integers, which is cheaper than as text."""
    last = number.str.slice(17, 1)
    given = pl.when(last == "X").then(pl.lit(10, pl.Int64)).otherwise(last.cast(pl.Int64, strict=False))
    return given == mod11_2_value(number.str.slice(0, 17))


def mod11_2_valid(number: pl.Expr) -> pl.Expr:
    """18 characters, 17 digits plus a matching MOD 11-2 check character (RIC, residence permits)."""
    return number.str.contains(RIC_PATTERN) & (number.str.slice(17, 1) == mod11_2_check(number)).fill_null(False)


def ric_upgrade(number: pl.Expr) -> pl.Expr:
    """A 15-digit legacy ID as its 18-digit form (insert 19 before the year, add the check
    character); any other value unchanged."""
    body = number.str.slice(0, 6) + pl.lit("19") + number.str.slice(6, 9)
    return pl.when(number.str.contains(RIC_LEGACY_PATTERN)).then(body + mod11_2_check(body)).otherwise(number)


def ric_birth_date(number: pl.Expr) -> pl.Expr:
    """Digits 7-14 as a Date (null when not a real calendar date)."""
    return number.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)


def ric_gender(number: pl.Expr) -> pl.Expr:
    """M when the 17th digit is odd, F when even."""
    digit = number.str.slice(16, 1).cast(pl.Int64, strict=False)
    return pl.when(digit % 2 == 1).then(pl.lit("M")).when(digit.is_not_null()).then(pl.lit("F"))


# The alphabet's letters skip I, O, S, V and Z: a letter's base-36 value (A = 10 … Y = 34) minus the
# skipped letters below it is its GB 32100 value (J = 19 - 1 = 18, Y = 34 - 4 = 30).
_USCC_SKIPPED = tuple(int(c, 36) for c in "IOSV")


def _uscc_value(symbol: pl.Expr) -> pl.Expr:
    """One symbol's GB 32100 value, by arithmetic (garbage outside the alphabet, which callers guard):
    17 `replace_strict` lookups cost ~15 ms per frame to plan, however few its rows (an API page)."""
    raw = symbol.str.to_integer(base=36, strict=False)
    value = raw
    for skipped in _USCC_SKIPPED:  # a chain of subtractions plans and runs faster than sum_horizontal
        value = value - (raw > skipped).cast(pl.Int64)
    return value


def uscc_valid(code: pl.Expr) -> pl.Expr:
    """18 symbols of the GB 32100 alphabet (letters allowed in positions 1-2) with a matching check:
    the 18th symbol's value is (31 - Σ valueᵢ·weightᵢ mod 31) mod 31."""
    total = pl.sum_horizontal([_uscc_value(code.str.slice(i, 1)) * w for i, w in enumerate(USCC_WEIGHTS)])
    expected = (31 - total % 31) % 31
    return (code.str.contains(USCC_PATTERN) & (_uscc_value(code.str.slice(17, 1)) == expected)).fill_null(False)


def mobile_digits(number: pl.Expr) -> pl.Expr:
    """A phone number without +86 / 0086, spaces and hyphens."""
    return number.str.replace_all(r"[\s\-]", "").str.replace(r"^(?:\+86|0086)", "")
