"""Where and when a figure is about: region codes and Asia/Shanghai reporting periods.

SPEC section 1 and 6: months, deadlines and "within one month" are Asia/Shanghai calendar
periods, while the warehouse stores timestamps as naive UTC. Every query compares timestamp
columns with UTC bounds computed here, so that 2026-01-31T17:00Z (already February in Shanghai)
falls in February.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
NATION = "CN"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def normalise_region(code: str | None) -> str:
    """`None`/`CN` → `CN`; `21`/`210000` → `21`; `2101`/`210100` → `2101`; `210102` → `2101`.

    Regions are the nation, a province (`division_code[:2]`) or a prefecture (`[:4]`): a six-digit
    county code is read as its prefecture, trailing `00` pairs are dropped.
    """
    if code is None:
        return NATION
    code = code.strip().upper()
    if code in ("", NATION, "CHN", "000000"):
        return NATION
    if not code.isdigit() or len(code) not in (2, 4, 6):
        raise ValueError(f"区划代码应为2、4或6位数字: {code!r}")
    if len(code) == 6:
        code = code[:2] if code[2:] == "0000" else code[:4]
    elif len(code) == 4 and code[2:] == "00":
        code = code[:2]
    return code


def region_level(region: str) -> int:
    """0 for the nation, else the prefix length (2 or 4) of `division_code`."""
    return 0 if region == NATION else len(region)


def shanghai_midnight_utc(day: date) -> datetime:
    """00:00 of `day` in Asia/Shanghai as a naive UTC datetime (how the warehouse stores time)."""
    local = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
    return local.astimezone(UTC).replace(tzinfo=None)


def end_of_day_utc(day: date) -> datetime:
    """The exclusive end of `day` in Shanghai (next midnight), naive UTC: `ts < end_of_day_utc(d)`."""
    return shanghai_midnight_utc(day + timedelta(days=1))


def add_calendar_month(day: date) -> date:
    """Same day next month, clamped to that month's last day (01-31 → 02-28/29)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Month:
    """A reporting month: its calendar days and its [lo, hi) bounds in naive UTC."""

    label: str  # YYYY-MM
    first: date
    last: date
    lo: datetime  # first day 00:00 +08:00, in UTC
    hi: datetime  # next month's first day 00:00 +08:00, in UTC

    @classmethod
    def parse(cls, label: str) -> Month:
        m = _MONTH.match(label.strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"月份格式应为 YYYY-MM: {label!r}")
        year, month = int(m.group(1)), int(m.group(2))
        first = date(year, month, 1)
        last = date(year, month, calendar.monthrange(year, month)[1])
        return cls(f"{year:04d}-{month:02d}", first, last, shanghai_midnight_utc(first), end_of_day_utc(last))

    def previous(self, n: int = 1) -> Month:
        year, month = self.first.year, self.first.month - n
        while month < 1:
            year, month = year - 1, month + 12
        return Month.parse(f"{year:04d}-{month:02d}")


def month_of(ts: datetime | date) -> str:
    """The Shanghai month label of a naive-UTC timestamp, or of a calendar date."""
    if isinstance(ts, datetime):
        ts = ts.replace(tzinfo=UTC).astimezone(SHANGHAI)
    return f"{ts.year:04d}-{ts.month:02d}"
