"""The shapes data takes between the stages: connector → mapping → validator → warehouse.

Every stage works on whole columns (polars DataFrames); these names are the contract between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

# The polars dtype of each canonical field type (`tourlink.schema.FIELD_TYPES`), as mapping produces
# them and validators and the warehouse expect them (docs/architecture.md, Mapping → validator).
DTYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "decimal": pl.Decimal(14, 2),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us", "UTC"),
    "bool": pl.Boolean(),
    "json": pl.String(),  # JSON text
    "list": pl.List(pl.String),
    "set": pl.List(pl.String),  # sorted and deduplicated
}

# Row number as the source shows it: the spreadsheet row (1-based, header row included in the
# count), the CSV line, or the record's position in an API page. Added by the connector.
ROW = "__row"
PAGE_FILE = "__file"  # optional per-row raw input name (an API page), overriding SourceFrame.file

# Lineage and bookkeeping columns of a mapped entity frame (beside the canonical fields).
FILE = "_file"  # the raw input's name as a steward knows it
ROW_NO = "_row"  # copied from ROW
# The source row as received, a struct of its cells by source column name (what quarantine keeps).
# It stays a struct (sharing the source's column buffers) until a row is quarantined: encoding every
# row as JSON cost ~1.4 s and ~290 MB per 1 M roster rows that nearly all load (issue 9).
RAW = "_raw"
ISSUES = "_issues"  # list of ISSUE structs: every rule the row failed so far
# Beside `updated_at` (entities that have it): true where the source itself sent the row's 更新时间,
# false where the mapping filled it with the time of receipt. Only a sent one versions a row: a newer
# sent `updated_at` is stored even with unchanged content, a receipt-time default never is (issue 16).
UPDATED_AT_GIVEN = "_updated_at_given"

ISSUE = pl.Struct(
    {
        "rule": pl.String,  # rule id, e.g. RIC_CHECKSUM
        "severity": pl.String,  # ERROR or WARN
        "field": pl.String,  # canonical field name (null for row-level rules)
        "value": pl.String,  # the offending value as received (unmasked: masking is for output)
        "message": pl.String,  # plain Chinese, for the stewards
    }
)
ISSUES_DTYPE = pl.List(ISSUE)


@dataclass
class SourceFrame:
    """Rows read from one raw input (a file, or one page of an API), before mapping.

    `data` has the source's own column names (header cells for spreadsheets, all `pl.String`;
    record fields for APIs, possibly nested structs and lists) plus `ROW`. `numeric_cells` flags,
    per column, the xlsx cells that held numbers rather than text (SPEC `EXCEL_NUMERIC_ID`).
    """

    data: pl.DataFrame
    file: str
    sheet: str | None = None
    numeric_cells: dict[str, pl.Series] = field(default_factory=dict)

    def slice(self, offset: int, length: int | None = None) -> SourceFrame:
        """Rows `offset … offset+length-1` (to the end when `length` is None), flags included."""
        cells = {name: flags.slice(offset, length) for name, flags in self.numeric_cells.items()}
        return SourceFrame(data=self.data.slice(offset, length), file=self.file, sheet=self.sheet, numeric_cells=cells)

    @property
    def headers(self) -> list[str]:
        return [c for c in self.data.columns if c != ROW]


def raw_json(frame: pl.DataFrame) -> pl.Expr:
    """`RAW` as JSON object text, as quarantine stores it (`{}` when unknown). Also accepts the JSON
    text parts staged by earlier versions carry."""
    if RAW not in frame.columns:
        return pl.lit("{}")
    raw = pl.col(RAW)
    if isinstance(frame.schema[RAW], pl.Struct):
        raw = raw.struct.json_encode()
    return raw.cast(pl.String).fill_null("{}")
