"""Personal data out of sight, formulas out of spreadsheets.

SPEC section 1 (PII): ID, passport and permit numbers, phones and birth dates are masked in logs and
reports (`2101**********123X`, `138****5678`). Which fields are personal comes from the schemas'
`pii` flags, so a new personal field is masked by one edit in `tourlink/schemas/`.

Spreadsheet cells that start with `= + - @` (or a tab / carriage return, which some spreadsheet
programs strip before evaluating) are prefixed with `'` so Excel, WPS and LibreOffice show them as text
and never evaluate them (CSV / formula injection).
"""

from __future__ import annotations

import logging
import re
from functools import cache

from tourlink import schema

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"

# 18-digit (last may be X) and legacy 15-digit resident ID numbers, and mainland mobiles, as whole
# tokens (not inside a longer run of digits such as a USCC or an order number).
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(?:\+86|0086)?(1[3-9]\d{9})(?![0-9A-Za-z])")
# The same glued to letters (`AB21010219900101123X`, `团号SY13812345678`): only digit runs may not touch
# them, and an ID must have an ID's shape (division, birth date 18xx-20xx, sequence, check) so that a
# code such as `TG202603050000000001` is left alone.
_DAY = r"(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_ID_GLUED = re.compile(rf"(?<!\d)([1-9]\d{{5}}{_DAY}\d{{3}}[\dXx]|[1-9]\d{{7}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{{3}})(?![\dXx])")
_MOBILE_GLUED = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
# A value quoted in a rule message: `出生日期“1990年13月45日”无法识别为日期`.
_QUOTED = re.compile(r"(“)([^”]*)(”)")
_DATE = re.compile(r"^(\d{4})([-/.年]?)(\d{1,2})([-/.月]?)(\d{1,2})(日?)(.*)$")

_PHONE_FIELDS = {"mobile", "phone"}
_DATE_TYPES = {"date", "timestamp"}


def mask_id(value: str | None) -> str | None:
    """Keep the first 4 and last 4 characters of an ID, passport or permit number.

    Short numbers (passports are 9 characters) keep fewer so at least half is hidden.
    """
    if value is None:
        return None
    text = str(value).strip()
    n = len(text)
    if n == 0:
        return text
    if n >= 12:
        keep = 4
    elif n >= 6:
        keep = 2
    else:
        return "*" * n
    return text[:keep] + "*" * (n - 2 * keep) + text[-keep:]


def mask_phone(value: str | None) -> str | None:
    """`13812345678` → `138****5678`; any other phone keeps its first 3 and last 4 digits."""
    if value is None:
        return None
    text = str(value).strip()
    n = len(text)
    if n >= 8:
        return text[:3] + "*" * (n - 7) + text[-4:]
    return "*" * n


def mask_date(value: str | None) -> str | None:
    """A birth date keeps its year only: `1990-01-01` → `1990-**-**`."""
    if value is None:
        return None
    text = str(value).strip()
    m = _DATE.match(text)
    if not m:
        return "*" * len(text)
    year, sep1, month, sep2, day, suffix, _rest = m.groups()
    return f"{year}{sep1}{'*' * len(month)}{sep2}{'*' * len(day)}{suffix}"


def mask_text(text: str | None) -> str | None:
    """Mask ID numbers and mobiles wherever they appear in free text (messages, log lines)."""
    if text is None:
        return None
    text = _ID_IN_TEXT.sub(lambda m: mask_id(m.group(1)) or "", str(text))
    text = _ID_GLUED.sub(lambda m: mask_id(m.group(1)) or "", text)
    text = _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(1)) or "", text)
    return _MOBILE_GLUED.sub(lambda m: mask_phone(m.group(1)) or "", text)


def mask_message(message: str | None, field: str | None = None, value: object = None, entity: str | None = None) -> str | None:
    """A rule message as shown: the value it quotes masked as its field's value is, then `mask_text`.

    Why: messages quote the received text (`出生日期“1990年13月45日”无法识别为日期`), and a birth date
    that could not be parsed has no shape `mask_text` would recognise.
    """
    if message is None:
        return None
    text = str(message)
    if is_pii(field, entity):
        text = _QUOTED.sub(lambda m: m.group(1) + (mask_value(field, m.group(2), entity) or "") + m.group(3), text)
        raw = "" if value is None else str(value).strip()
        if raw and raw in text:
            text = text.replace(raw, mask_value(field, raw, entity) or "")
    return mask_text(text)


def mask_issue(issue: dict, entity: str | None = None) -> dict:
    """One rule result (`{"rule", "field", "value", "message", ...}`) with its value and message masked."""
    field = issue.get("field")
    return {
        **issue,
        "value": mask_value(field, issue.get("value"), entity=entity),
        "message": mask_message(issue.get("message"), field, issue.get("value"), entity=entity),
    }


@cache
def _pii_fields() -> dict[tuple[str | None, str], schema.Field]:
    """(entity, field) → Field for every personal field, plus (None, field) for any entity."""
    found: dict[tuple[str | None, str], schema.Field] = {}
    for entity in schema.entities().values():
        for f in entity.fields:
            if f.pii:
                found[(entity.name, f.name)] = f
                found.setdefault((None, f.name), f)
    return found


def is_pii(field: str | schema.Field | None, entity: str | None = None) -> bool:
    """Whether a field holds personal data according to the schemas."""
    if field is None:
        return False
    if isinstance(field, schema.Field):
        return field.pii
    return (entity, field) in _pii_fields() or (entity is None and (None, field) in _pii_fields())


def mask_value(field: str | schema.Field | None, value: object, entity: str | None = None) -> str | None:
    """Mask `value` as the schema says for `field`; non-personal values pass through (as text).

    Values of unknown or row-level fields (`field` None) still get ID numbers and mobiles masked
    inside them, so a rule message quoting a number never leaks it.
    """
    if value is None:
        return None
    text = str(value)
    name = field.name if isinstance(field, schema.Field) else field
    f = field if isinstance(field, schema.Field) else _pii_fields().get((entity, name or "")) or _pii_fields().get((None, name or ""))
    if f is None or not f.pii:
        return mask_text(text)
    if f.name in _PHONE_FIELDS or "mobile" in f.name or "phone" in f.name:
        return mask_phone(text)
    if f.type in _DATE_TYPES:
        return mask_date(text)
    return mask_id(text)


def escape_formula(value: object) -> object:
    """Prefix `'` to a text that a spreadsheet would evaluate; other values are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return ESCAPE + value
    return value


def unescape_formula(value: object) -> object:
    """Undo `escape_formula` (for files we wrote and an agency sends back corrected)."""
    if isinstance(value, str) and value.startswith(ESCAPE) and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


class MaskingFilter(logging.Filter):
    """A logging filter that masks ID numbers and mobiles in every record's rendered message.

    Install once on the handlers (`install_log_masking()`); records keep flowing, only masked.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True


def install_log_masking(logger: logging.Logger | None = None) -> MaskingFilter:
    """Add a `MaskingFilter` to every handler of `logger` (root by default) and to the logger itself."""
    target = logger or logging.getLogger()
    flt = MaskingFilter()
    target.addFilter(flt)
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt
