"""Great Expectations suites generated from the schemas: the rule definitions engineers browse
(Data Docs), and an independent second reading of the rules that a test compares with the polars
engine. The polars engine stays the one that validates production batches.

`great_expectations` takes ~10 s to import, so it is imported inside these functions only.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from tourlink.schema import Condition, Entity, entities
from tourlink.schema import entity as schema_entity
from validators import divisions
from validators import identifiers as ids
from validators.code_rules import code_values
from validators.value_rules import PERIOD_STARTS

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite
    from great_expectations.data_context import AbstractDataContext

INDEX = "__row_index"
SITE = "tourlink_rules"
# Regexes that say exactly what the polars rule says (nulls are skipped by both).
FORMAT_RULES = {
    "LICENCE_FORMAT": ids.LICENCE_PATTERN,
    "GUIDE_CARD_FORMAT": ids.GUIDE_CARD_PATTERN,
    "PERIOD_FORMAT": ids.PERIOD_PATTERN,
    "CITY_CODE": ids.CITY_CODE_PATTERN,
    "MOBILE_FORMAT": ids.MOBILE_AS_RECEIVED_PATTERN,
}
# Only the format part of these is a regex; the check character is polars-only.
PARTIAL_RULES = {"USCC_CHECKSUM": ids.USCC_PATTERN}


def pandas_condition(ent: Entity, cond: Condition) -> str | None:
    """`required_when` as a pandas query (GX row_condition); `contains` on lists has none."""
    kind = ent.field(cond.field).type
    values: list[Any] = [int(v) for v in cond.values] if kind == "int" else list(cond.values)
    if cond.op == "in":
        return f"{cond.field} in {values!r}"
    if cond.op == "not_in":
        return f"{cond.field} == {cond.field} and {cond.field} not in {values!r}"  # x == x: not null
    return None


def expectations_for(ent: Entity, today: date) -> list[Any]:
    """The GX expectations that express `ent`'s schema declarations; meta names the rule."""
    import great_expectations.expectations as gxe

    def meta(rule: str, field: str, exact: bool = True, **extra: str) -> dict[str, Any]:
        return {"rule": rule, "field": field, "exact": exact, **extra}

    out: list[Any] = []
    for f in ent.fields:
        if f.required == "R":
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=f.name, meta=meta("REQUIRED", f.name)))
        elif f.required == "C" and f.required_when and (cond := pandas_condition(ent, f.required_when)):
            out.append(gxe.ExpectColumnValuesToNotBeNull(
                column=f.name, row_condition=cond, condition_parser="pandas", meta=meta("REQUIRED", f.name)))
        if f.codes and f.type not in ("list", "set") and (values := code_values(f.codes)) is not None:
            out.append(gxe.ExpectColumnValuesToBeInSet(column=f.name, value_set=list(values), meta=meta("CODE_LIST", f.name)))
        for rule in f.rules:
            if rule in FORMAT_RULES:
                out.append(gxe.ExpectColumnValuesToMatchRegex(column=f.name, regex=FORMAT_RULES[rule], meta=meta(rule, f.name)))
            elif rule in PARTIAL_RULES:
                out.append(gxe.ExpectColumnValuesToMatchRegex(
                    column=f.name, regex=PARTIAL_RULES[rule], meta=meta(rule, f.name, exact=False)))
            elif rule == "DIVISION_CODE":
                out.append(gxe.ExpectColumnValuesToBeInSet(
                    column=f.name, value_set=divisions.current_codes().to_list(), meta=meta(rule, f.name)))
            elif rule == "POSITIVE":
                out.append(gxe.ExpectColumnValuesToBeBetween(
                    column=f.name, min_value=0, strict_min=True, meta=meta(rule, f.name)))
            elif rule == "NON_NEGATIVE":
                out.append(gxe.ExpectColumnValuesToBeBetween(column=f.name, min_value=0, meta=meta(rule, f.name)))
            elif rule == "NOT_FUTURE" and f.type == "date":
                out.append(gxe.ExpectColumnValuesToBeBetween(
                    column=f.name, max_value=datetime.combine(today, time()), meta=meta(rule, f.name)))
            elif rule == "DATE_ORDER":
                out.append(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=f.name, column_B=PERIOD_STARTS.get(f.name, "start_date"), or_equal=True,
                    ignore_row_if="either_value_is_missing", meta=meta(rule, f.name)))
            elif rule == "DOCUMENT":
                out.append(gxe.ExpectColumnValuesToMatchRegex(
                    column=f.name, regex=ids.RIC_PATTERN, row_condition='doc_type == "CN_RIC"',
                    condition_parser="pandas", meta=meta("RIC_FORMAT", f.name)))
                for doc_type, pattern in ids.DOC_PATTERNS.items():
                    exact = pattern != ids.MOD11_2
                    out.append(gxe.ExpectColumnValuesToMatchRegex(
                        column=f.name, regex=pattern if exact else ids.RIC_PATTERN, row_condition=f'doc_type == "{doc_type}"',
                        condition_parser="pandas", meta=meta("DOC_FORMAT", f.name, exact=exact, doc_type=doc_type)))
            elif rule == "RIC":
                out.append(gxe.ExpectColumnValuesToMatchRegex(column=f.name, regex=ids.RIC_PATTERN, meta=meta("RIC_FORMAT", f.name)))
    return out


def suite_for(entity: str, *, today: date) -> ExpectationSuite:
    """One ExpectationSuite per entity, named after it."""
    import great_expectations as gx

    ent = schema_entity(entity)
    return gx.ExpectationSuite(name=entity, expectations=expectations_for(ent, today), meta={"label": ent.label})


def ephemeral_context() -> AbstractDataContext:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def failing_rows(entity: str, df: pl.DataFrame, *, today: date) -> list[tuple[dict[str, Any], set[int]]]:
    """Run the entity's suite on `df` (via pandas) with result_format COMPLETE: for each
    expectation, its meta and the row positions it flags."""
    import great_expectations as gx

    context = ephemeral_context()
    suite = context.suites.add(suite_for(entity, today=today))
    fields = [f for f in schema_entity(entity).fields if f.type not in ("list", "set", "json")]
    frame = df.select(f.name for f in fields).with_row_index(INDEX).to_pandas()  # dates: datetime64
    batch_definition = (
        context.data_sources.add_pandas("frames").add_dataframe_asset(entity).add_batch_definition_whole_dataframe("all")
    )
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=entity, data=batch_definition, suite=suite))
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [INDEX]},
    )
    out = []
    for r in result.results:
        rows = {int(i[INDEX]) for i in (r.result.get("unexpected_index_list") or [])}
        out.append((dict(r.expectation_config.meta or {}), rows))
    return out


def build_data_docs(target_dir: Path, *, today: date | None = None) -> Path:
    """Render every entity's suite as static HTML (GX Data Docs) in `target_dir`; returns index.html."""
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    context = ephemeral_context()
    for name in entities():
        context.suites.add(suite_for(name, today=today or date.today()))
    context.add_data_docs_site(
        site_name=SITE,
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(target_dir)},
        },
    )
    context.build_data_docs(site_names=[SITE])
    return target_dir / "index.html"
