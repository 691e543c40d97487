"""A realistic month of agency filings, for the demo and the end-to-end tests.

Several agencies (Liaoning and elsewhere, heads, a branch and an outlet: `agencies.py`), their
guides, a month of outbound and domestic groups with rosters and leaders, the e-contracts signed for
them (`groups.py`), the guides' APP days, and the year's key cities and agencies. Written the way
agencies really upload them: the platform's Chinese import templates as messy xlsx (title rows,
merged group cells, notes, 合计 rows) and GBK CSV, plus a handful of deliberately bad rows a steward
will find in the failure report. Deterministic for a given seed.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from devkit.demo.agencies import (
    Agency,
    agency_rows,
    app_day_rows,
    erp_vendor_agencies,
    guide_rows,
    make_agencies,
)
from devkit.demo.groups import contract_headers, groups_of, numeric_columns_for, roster_headers
from devkit.demo.spreadsheets import template_headers, write_template_csv, write_template_xlsx


@dataclass
class Sample:
    """What was generated, so tests can compare the warehouse with it."""

    month: str
    agencies: list[Agency]
    files: list[Path]
    groups: int = 0
    members: int = 0
    contracts: int = 0
    bad_rows: list[str] = field(default_factory=list)


def write_sample(
    out_dir: Path, *, month: str = "2026-10", seed: int = 20261001, erp_regions: list[str] | None = None
) -> Sample:
    """Write the month's upload files into `out_dir` and say what they hold."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    month_start = date.fromisoformat(f"{month}-01")
    agencies = make_agencies(rng)
    sample = Sample(month=month, agencies=agencies, files=[])

    path = out_dir / "旅行社信息导入模板.xlsx"
    write_template_xlsx(
        path, template_headers("travel_agency"), agency_rows(agencies, month_start),
        title="旅行社信息导入模板（2026年10月）",
    )
    sample.files.append(path)
    if erp_regions:
        path = out_dir / "旅行社信息导入模板_ERP接入社.xlsx"
        vendors = erp_vendor_agencies(erp_regions)
        write_template_xlsx(path, template_headers("travel_agency"), agency_rows(vendors, month_start),
                            title="ERP接入旅行社")
        sample.files.append(path)

    path = out_dir / "导游信息导入模板.csv"
    write_template_csv(path, template_headers("guide"), guide_rows(rng, agencies, month_start), encoding="gbk")
    sample.files.append(path)
    path = out_dir / "导游APP使用导入模板.csv"
    write_template_csv(path, template_headers("guide_app_day"), app_day_rows(rng, agencies, month_start),
                       encoding="utf-8-sig")
    sample.files.append(path)

    for a in agencies:
        if a.unit_type == "OUTLET":
            continue
        roster, contracts = groups_of(rng, a, agencies, month_start, sample)
        if not roster:
            continue
        path = out_dir / f"团队名单_{a.uscc}.xlsx"
        write_template_xlsx(
            path,
            roster_headers(),
            roster,
            title=f"{a.name} 团队名单（{month}）",
            notes="注：每位游客一行，团队信息每行重复填写。",
            total_row=True,
            merge_columns=("团号",),
            numeric_columns=numeric_columns_for(a, agencies),
        )
        sample.files.append(path)
        path = out_dir / f"电子合同_{a.uscc}.xlsx"
        write_template_xlsx(path, contract_headers(), contracts, title=f"{a.name} 电子合同")
        sample.files.append(path)

    year = month[:4]
    cities = [[year, "2101", "沈阳"], [year, "2102", "大连"], [year, "2103", "鞍山"]]
    sample.files.append(_write_csv(out_dir / "key_city.csv", ["year", "city_code", "name"], cities))
    key_agencies = [[year, i + 1, a.uscc, a.name] for i, a in enumerate(agencies[:4])]
    sample.files.append(_write_csv(out_dir / "key_agency.csv", ["year", "rank", "uscc", "name"], key_agencies))
    return sample


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    """A plain canonical CSV (the key lists come from the province as such, not as templates)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path
