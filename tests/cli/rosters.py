"""What the CLI tests load: the demo's agencies imported, then a Shenyang agency's 团队名单 (a domestic
group of a few members, as xlsx or CSV) that a test spoils the way it needs; and `tourlink`, which runs
one CLI command and checks its exit code."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from devkit.demo.people import gender_label
from devkit.demo.sample import Sample, write_sample
from devkit.demo.spreadsheets import write_template_xlsx
from tourlink.cli import app

runner = CliRunner()

ROSTER_HEADERS = ["团号", "团队类型", "组团社统一社会信用代码", "地接社统一社会信用代码", "线路名称", "出发日期", "返回日期",
                  "目的地", "出境口岸", "入境口岸", "客源地", "游客人数", "团队状态", "报送时间",
                  "序号", "姓名", "性别", "出生日期", "证件类型", "证件号码", "手机号码"]  # fmt: skip
MOBILES = ("13812345678", "13912345678", "13712345678")


def tourlink(*args: str, code: int = 0) -> str:
    """Run `tourlink ARGS`; its stdout, once it exited with `code`."""
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.stdout


def load_agencies(tmp_path: Path) -> Sample:
    """The demo's month written under `tmp_path`, and its agencies (the first file) imported."""
    sample = write_sample(tmp_path / "sample")
    tourlink("import", str(sample.files[0]))
    return sample


def wrong_check_digit(number: str) -> str:
    """`number` with its last character changed: RIC_CHECKSUM."""
    return number[:-1] + ("0" if number[-1] != "0" else "1")


@dataclass(frozen=True)
class Member:
    name: str
    gender: str  # M / F
    birth: str  # as written in the file (may be invalid)
    doc_no: str  # a 身份证 number
    mobile: str | None = None  # default: MOBILES by 序号


def write_roster(path: Path, agency_uscc: str, group_code: str, members: list[Member], *, receiving: str | None = None,
                 start: str = "2026-10-10", end: str = "2026-10-12", submitted: str = "2026-10-05 09:00:00") -> Path:
    """A 团队名单 of one domestic group of `agency_uscc` (received by itself unless `receiving`): an xlsx
    template with its title row, or a plain UTF-8 CSV when `path` ends in `.csv`."""
    group = [group_code, "国内", agency_uscc, receiving or agency_uscc, "辽东3日游", start, end, "辽宁省", "", "", "21",
             len(members), "已提交", submitted]  # fmt: skip
    rows = [[*group, seq, m.name, gender_label(m.gender), m.birth, "身份证", m.doc_no, m.mobile or MOBILES[seq - 1]]
            for seq, m in enumerate(members, start=1)]
    if path.suffix == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(ROSTER_HEADERS)
            writer.writerows(rows)
    else:
        write_template_xlsx(path, ROSTER_HEADERS, rows, title="团队名单（2026年10月）")
    return path
