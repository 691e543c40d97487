"""How identity numbers leave a landing file or a quarantine raw row.

Landing files: with a key, the whole file is encrypted in place (Fernet; `MAGIC` first), so the raw
input is still there for an administrator holding the key; without one, a text file (CSV, JSON, XML)
has every resident ID number and mobile masked byte-wise in place (same length, same rows), and a
binary one (xlsx, xls, ods, Parquet, archives) is deleted. Quarantine raw rows: the values of personal
source columns (by the schemas' headers and aliases) are masked as the reports mask them, and ID
numbers and mobiles in any other value, rule value or message.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from tourlink import schema
from tourlink.atomic import atomic_file
from tourlink.masking import mask_id, mask_phone, mask_text, mask_value

MAGIC = b"TOURLINK-RETENTION-FERNET-1\n"
TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".xml"}
# Same patterns as tourlink.masking, on bytes: digits are single bytes in UTF-8 and GB18030 alike.
_ID = re.compile(rb"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_MOBILE = re.compile(rb"(?<![0-9A-Za-z])(1[3-9]\d{9})(?![0-9A-Za-z])")


def is_encrypted(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


def _replace(path: Path, data: bytes) -> None:
    """Write `data` over `path` atomically (temporary file in the same folder, then rename)."""
    with atomic_file(path, prefix=".retention-") as out:
        out.write(data)


def redacted_bytes(data: bytes) -> bytes:
    data = _ID.sub(lambda m: mask_id(m.group(1).decode()).encode(), data)
    return _MOBILE.sub(lambda m: mask_phone(m.group(1).decode()).encode(), data)


def landing_action(path: Path, key: bytes | None) -> str | None:
    """What retention does to this landed file: encrypt / redact / delete, or None when already done."""
    if not path.exists() or is_encrypted(path):
        return None
    if key is not None:
        return "encrypt"
    if path.suffix.lower() in TEXT_SUFFIXES:
        return None if redacted_bytes(path.read_bytes()) == path.read_bytes() else "redact"
    return "delete"


def apply_to_landing(path: Path, action: str, key: bytes | None) -> None:
    if action == "encrypt":
        from cryptography.fernet import Fernet

        _replace(path, MAGIC + Fernet(key).encrypt(path.read_bytes()))
    elif action == "redact":
        _replace(path, redacted_bytes(path.read_bytes()))
    elif action == "delete":
        path.unlink()
    else:
        raise ValueError(f"unknown retention action {action!r}")


def decrypt(path: Path, key: bytes) -> bytes:
    """The original bytes of a file retention encrypted (for an administrator holding the key)."""
    from cryptography.fernet import Fernet

    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise ValueError(f"{path}: not encrypted by tourlink retention")
    return Fernet(key).decrypt(data[len(MAGIC):])


@cache
def _personal_columns() -> dict[str, schema.Field]:
    """Source column names (canonical names, Chinese headers, aliases) of every personal field."""
    found: dict[str, schema.Field] = {}
    for entity in schema.entities().values():
        for f in entity.fields:
            if f.pii:
                for name in (f.name, *f.headers):
                    found.setdefault(name, f)
    return found


def _masked(value: Any, field: schema.Field | None) -> Any:
    if isinstance(value, str):
        return mask_value(field, value) if field is not None else mask_text(value)
    if isinstance(value, dict):
        return {k: _masked(v, _personal_columns().get(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, field) for v in value]
    return value


def redacted_raw(raw: str) -> str:
    """A quarantine `raw` JSON object with its identity numbers masked."""
    return json.dumps(_masked(json.loads(raw), None), ensure_ascii=False)


def redacted_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for rule in rules:
        field = _personal_columns().get(rule.get("field") or "")
        out.append({**rule, "value": _masked(rule.get("value"), field), "message": mask_text(rule.get("message"))})
    return out
