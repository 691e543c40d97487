"""Bounds on what one uploaded file may make a reader do, with safe defaults.

A hostile or broken upload must end in a refusal naming the file, never in an unbounded allocation:
an 8.6 KB xlsx claiming a cell at XFD1048576, a zip bomb, a CSV cell of megabytes, JSON nested
100,000 deep, an xls or ods a few bytes from valid that makes calamine ask for 8 GB. Each bound can be raised per deployment through the environment
(`TOURLINK_READER_<NAME>`, e.g. `TOURLINK_READER_MAX_CELL_CHARS=200000`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class ReaderLimits:
    """The bounds; the defaults fit every real template upload with a wide margin."""

    max_cell_chars: int = 32_767  # Excel's own cell limit
    max_columns: int = 1_000  # templates have < 40 columns
    max_rows: int = 2_000_000  # a province's month is ~1 M roster rows
    max_uncompressed_bytes: int = 4 << 30  # sum of a workbook's zip members, from the zip's headers
    max_compression_ratio: int = 200  # a member inflating more than this is a zip bomb
    max_nesting: int = 64  # JSON Lines objects/arrays
    max_line_bytes: int = 16 << 20  # one CSV/JSON Lines line
    # calamine's parse of an xls/xlsb/ods, in a child first (`parse_guard`): its address space, its time
    # (a full 65,536-row xls peaks near 300 MB; a 1.7 KB hostile ods asks for 6 GB); 0 turns the guard off
    max_parse_bytes: int = 2 << 30
    max_parse_seconds: int = 300
    # An honest big workbook needs address space in proportion to its content, so the bound grows with
    # it: the larger of max_parse_bytes and factor × content, at most max_parse_bytes_ceiling. Content is
    # the file's size for an xls, the inflated size of the zip's members (its central directory, bounded
    # by check_zip's ratio and total) for xlsb/ods/xlsx. Measured (calamine 0.9, 团队名单 roster, VmPeak):
    # xls 7.7 / 7.9 × its size at 200 k / 1 M rows; ods 1.6 / 2.0 × its inflated XML. A tiny hostile file
    # has too little content to raise the bound: it still meets max_parse_bytes.
    parse_bytes_per_binary_byte: int = 12  # xls (on disk), xlsb (inflated .bin records)
    parse_bytes_per_xml_byte: int = 3  # ods, xlsx (inflated XML)
    max_parse_bytes_ceiling: int = 8 << 30  # a 2 M-row (max_rows) ods needs ~7 GB

    @classmethod
    def from_env(cls) -> ReaderLimits:
        """The defaults, each overridden by `TOURLINK_READER_<NAME>` when set."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"TOURLINK_READER_{f.name.upper()}")
            if raw:
                values[f.name] = int(raw)
        return cls(**values)
