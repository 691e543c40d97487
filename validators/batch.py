"""Batch rules: checks that need several rows or several entities of one batch.

They run after the row rules, in dependency order: duplicates inside a group, rows of one natural
key that disagree (parents: GROUP_COLUMNS_DISAGREE, every other entity: KEY_CONFLICT), then children whose parent is missing or rejected (ORPHAN), then the warnings
that compare children with their parents. The warehouse is never queried here: `existing_keys`
(supplied by the pipeline) answers which parent keys are already stored.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from datetime import date

import polars as pl

from tourlink.frames import ISSUES
from tourlink.schema import Entity, entities
from tourlink.schema import entity as schema_entity
from validators.catalogue import message
from validators.checks import Check, append_issues, is_missing
from validators.rules import has_error, validate

ExistingKeys = Callable[[str, pl.DataFrame], pl.DataFrame]

# Batch warnings the schemas do not declare (they compare two entities): the rule, the entity that
# gets the issue, the field it names, and the related entity.
CONTRACT_TOURIST_COUNT = ("e_contract", "tourist_count", "contract_tourist")
ITINERARY_OUTSIDE_DATES = ("group_itinerary", "date", "tour_group")
# SPEC 4.7: a domestic or inbound day needs its province; an outbound day abroad needs its country.
ITINERARY_PLACE = ("group_itinerary", "province_code", "country", "tour_group")
DOMESTIC_DAY_GROUP_TYPES = ("DOMESTIC", "INBOUND")
MARK = "__batch_mark"


def validate_batch(
    frames: dict[str, pl.DataFrame], *, existing_keys: ExistingKeys, today: date
) -> dict[str, pl.DataFrame]:
    """Row rules on each frame, then the batch rules across them; returns the frames with `_issues`."""
    out = {name: validate(name, df, today=today) for name, df in frames.items()}
    # An empty frame (a sync's teams frame has no contracts) gets no batch rule: each would only plan
    # its joins for nothing, ~40 ms a frame.
    order = [name for name in entities() if name in out and not out[name].is_empty()]
    for name in order:
        if "DUPLICATE_IN_GROUP" in schema_entity(name).batch_rules:
            out[name] = duplicate_in_group(schema_entity(name), out[name])
    disagreeing: dict[str, pl.DataFrame] = {}
    for name in order:
        if children_of(name):
            out[name], disagreeing[name] = group_columns_disagree(schema_entity(name), out[name])
        else:
            out[name] = key_conflict(schema_entity(name), out[name])
    for name in order:
        ent = schema_entity(name)
        if ent.parent and ent.parent in disagreeing:
            out[name] = child_of_disagreeing(ent, out[name], disagreeing[ent.parent])
    for name in order:
        ent = schema_entity(name)
        if ent.parent and "ORPHAN" in ent.batch_rules:
            out[name] = orphan(ent, out[name], out.get(ent.parent), existing_keys)
    for name in order:
        ent = schema_entity(name)
        if ent.parent in out and any("PINYIN_MISSING" in f.rules for f in ent.fields):
            out[name] = pinyin_missing(ent, out[name], out[ent.parent])
    contract, count_field, tourist = CONTRACT_TOURIST_COUNT
    if contract in order and tourist in out:
        out[contract] = contract_tourist_count(out[contract], out[tourist], count_field)
    itinerary, date_field, group = ITINERARY_OUTSIDE_DATES
    if itinerary in order and group in out:
        out[itinerary] = itinerary_outside_dates(schema_entity(itinerary), out[itinerary], out[group], date_field)
    if ITINERARY_PLACE[0] in order:
        out[ITINERARY_PLACE[0]] = itinerary_place_required(out[ITINERARY_PLACE[0]], out.get(ITINERARY_PLACE[3]))
    return out


def children_of(name: str) -> list[Entity]:
    return [e for e in entities().values() if e.parent == name]




def parent_key_frame(child: Entity, df: pl.DataFrame) -> pl.DataFrame:
    """The child's parent-key columns named as the parent's natural key."""
    parent = schema_entity(child.parent)
    return df.select(pl.col(c).alias(p) for c, p in zip(child.parent_key, parent.natural_key, strict=True))


def mark_keys(df: pl.DataFrame, left_on: list[str], keys: pl.DataFrame) -> pl.DataFrame:
    """Adds boolean column MARK: the row's key is among `keys` (null keys never match)."""
    flagged = keys.unique().with_columns(pl.lit(True).alias(MARK))
    right = list(keys.columns)
    flagged = flagged.with_columns(pl.col(r).cast(df.schema[left]) for left, r in zip(left_on, right, strict=True))
    joined = df.join(flagged, left_on=left_on, right_on=right, how="left", maintain_order="left")
    if len(joined) != len(df):
        raise AssertionError("key frame must be unique")  # unreachable: keys are deduplicated
    return joined.with_columns(pl.col(MARK).fill_null(False))


def key_present(cols: tuple[str, ...] | list[str]) -> pl.Expr:
    return pl.all_horizontal(pl.col(c).is_not_null() for c in cols)


def duplicate_in_group(ent: Entity, df: pl.DataFrame) -> pl.DataFrame:
    """The same document (doc_type + doc_no) twice in one group or contract: ERROR on every copy."""
    keys = [*ent.parent_key, "doc_type", "doc_no"]
    # Copies share every key column's hash, so when the combined hashes are all distinct (the usual
    # roster) there are none: cheaper than comparing the four-column key itself.
    combined = functools.reduce(operator.xor, (pl.col(k).hash(i) for i, k in enumerate(keys)))
    if not df.select((key_present(keys) & combined.is_duplicated()).any()).item():
        return df
    failed = key_present(keys) & pl.struct(keys).is_duplicated()
    parent = schema_entity(ent.parent)
    doc = ent.field("doc_no")
    check = Check("DUPLICATE_IN_GROUP", "doc_no", failed, pl.col("doc_no"),
                  message("DUPLICATE_IN_GROUP", header=doc.header, parent=parent.label))
    return append_issues(df, [check])


def group_columns_disagree(ent: Entity, df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Several differing rows with one natural key: the batch cannot say which is true, so all are
    rejected. Returns the frame and the disagreeing keys."""
    key = list(ent.natural_key)
    # The usual batch has no repeated key: one hash per row answers that without comparing the key.
    combined = functools.reduce(operator.xor, (pl.col(k).hash(i) for i, k in enumerate(key)))
    if df.height < 2 or not df.select((key_present(key) & combined.is_duplicated()).any()).item():
        return df, df.select(key).clear()
    versions = df.select(*key, pl.struct(ent.field_names).hash().alias("__version")).unique()
    keys = versions.filter(key_present(key) & pl.struct(key).is_duplicated()).select(key).unique()
    if keys.is_empty():
        return df, keys
    df = mark_keys(df, key, keys)
    check = Check("GROUP_COLUMNS_DISAGREE", None, pl.col(MARK), pl.concat_str(key, separator="|"),
                  message("GROUP_COLUMNS_DISAGREE", label=ent.label))
    return append_issues(df, [check]).drop(MARK), keys


def key_conflict(ent: Entity, df: pl.DataFrame) -> pl.DataFrame:
    """Differing rows under one natural key (two tourists as 序号 1 of one group): the merge would keep
    one and count the other `unchanged`, so every one of them is an ERROR instead. Identical repeats
    pass; rows of an entity with `updated_at` are versions ordered by it, so only rows tied on
    `updated_at` can conflict, and a conflict rejects every row of that key (the stored value must
    not fall back to an older version)."""
    key = list(ent.natural_key)
    # The usual batch has no repeated key: one hash per row answers that without comparing the key.
    combined = functools.reduce(operator.xor, (pl.col(k).hash(i) for i, k in enumerate(key)))
    if df.height < 2 or not df.select((key_present(key) & combined.is_duplicated()).any()).item():
        return df
    tie = [*key, "updated_at"] if ent.has_updated_at else key
    versions = (
        df.filter(key_present(key))
        .select(*tie, pl.struct(ent.field_names).hash().alias("__version"))
        .unique()
    )
    keys = versions.filter(pl.struct(tie).is_duplicated()).select(key).unique()
    if keys.is_empty():
        return df
    df = mark_keys(df, key, keys)
    headers = "/".join(ent.field(k).header for k in key)
    value = pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator="|")
    check = Check("KEY_CONFLICT", key[-1], pl.col(MARK), value,
                  message("KEY_CONFLICT", label=ent.label, header=headers))
    return append_issues(df, [check]).drop(MARK)


def child_of_disagreeing(ent: Entity, df: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    if keys.is_empty():
        return df
    parent = schema_entity(ent.parent)
    df = mark_keys(df, list(ent.parent_key), keys)
    check = Check("GROUP_COLUMNS_DISAGREE", None, pl.col(MARK), pl.concat_str(list(ent.parent_key), separator="|"),
                  message("GROUP_COLUMNS_DISAGREE", variant="child", parent=parent.label))
    return append_issues(df, [check]).drop(MARK)


def orphan(ent: Entity, df: pl.DataFrame, parents: pl.DataFrame | None, existing_keys: ExistingKeys) -> pl.DataFrame:
    """A child needs a parent that is loaded now (a good row of this batch) or already stored.

    A roster repeats its group key on every row, so the parents are looked up per distinct key and
    only the keys that fail are joined back (none, usually: the frame comes back untouched)."""
    parent = schema_entity(ent.parent)
    link = list(ent.parent_key)
    key_field = ent.field(link[-1])
    failing = orphan_keys(ent, df.filter(key_present(link)).select(link).unique(), parents, existing_keys)
    if failing.is_empty():
        return df
    df = df.join(failing, on=link, how="left", maintain_order="left", nulls_equal=False).with_columns(
        pl.col("__missing", "__rejected").fill_null(False)
    )
    already = pl.col(ISSUES).list.eval(pl.element().struct.field("rule") == "GROUP_COLUMNS_DISAGREE").list.any()
    checks = [
        Check("ORPHAN", key_field.name, pl.col("__missing"), pl.col(key_field.name), message("ORPHAN", parent=parent.label)),
        Check("ORPHAN", key_field.name, pl.col("__rejected") & ~already, pl.col(key_field.name),
              message("ORPHAN", variant="parent_rejected", parent=parent.label)),
    ]
    return append_issues(df, checks).drop("__missing", "__rejected")


def orphan_keys(
    ent: Entity, linked: pl.DataFrame, parents: pl.DataFrame | None, existing_keys: ExistingKeys
) -> pl.DataFrame:
    """Of the distinct (present) parent keys `linked`, those whose parent is missing or rejected,
    with boolean `__missing` / `__rejected`."""
    parent = schema_entity(ent.parent)
    nk = list(parent.natural_key)
    link = list(ent.parent_key)
    if parents is not None:
        good = parents.filter(~has_error()).select(nk).unique()
        rejected = parents.filter(has_error()).select(nk).unique().join(good, on=nk, how="anti", nulls_equal=False)
    else:
        good = rejected = pl.DataFrame(schema={k: pl.String for k in nk})
    linked = mark_keys(linked, link, rejected).rename({MARK: "__rejected"})
    linked = mark_keys(linked, link, good).rename({MARK: "__good"})
    asked = parent_key_frame(ent, linked.filter(~pl.col("__good") & ~pl.col("__rejected"))).unique()
    stored = existing_keys(parent.name, asked).select(nk) if not asked.is_empty() else asked
    linked = mark_keys(linked, link, stored).rename({MARK: "__stored"})
    missing = ~pl.col("__good") & ~pl.col("__rejected") & ~pl.col("__stored")
    return linked.select(*link, missing.alias("__missing"), pl.col("__rejected")).filter(
        pl.col("__missing") | pl.col("__rejected")
    )


def pinyin_missing(ent: Entity, df: pl.DataFrame, parents: pl.DataFrame) -> pl.DataFrame:
    """Members of OUTBOUND groups (as the batch describes them) should carry their passport pinyin."""
    parent = schema_entity(ent.parent)
    outbound = parents.filter(pl.col("group_type") == "OUTBOUND").select(parent.natural_key)
    if outbound.is_empty():
        return df
    df = mark_keys(df, list(ent.parent_key), outbound)
    checks = [
        Check("PINYIN_MISSING", f.name, pl.col(MARK) & is_missing(f), pl.lit(None, pl.String),
              message("PINYIN_MISSING", header=f.header))
        for f in ent.fields if "PINYIN_MISSING" in f.rules
    ]
    return append_issues(df, checks).drop(MARK)


def contract_tourist_count(contracts: pl.DataFrame, tourists: pl.DataFrame, count_field: str) -> pl.DataFrame:
    """A contract's declared head count against its tourist rows in the same batch."""
    ent = schema_entity(CONTRACT_TOURIST_COUNT[0])
    key = list(ent.natural_key)
    counts = tourists.group_by(key).agg(pl.len().alias("__n"))
    df = contracts.join(counts, on=key, how="left", maintain_order="left", nulls_equal=False)
    n = pl.col("__n").fill_null(0)
    failed = pl.col(count_field).is_not_null() & (pl.col(count_field) != n)
    check = Check("CONTRACT_TOURIST_COUNT", count_field, failed, pl.col(count_field).cast(pl.String),
                  message("CONTRACT_TOURIST_COUNT", header=ent.field(count_field).header))
    return append_issues(df, [check]).drop("__n")


def itinerary_outside_dates(ent: Entity, df: pl.DataFrame, groups: pl.DataFrame, date_field: str) -> pl.DataFrame:
    """An itinerary day outside its group's start and end dates (group from the batch)."""
    parent = schema_entity(ent.parent)
    nk = list(parent.natural_key)
    spans = groups.filter(key_present(nk)).group_by(nk).agg(
        pl.col("start_date").min().alias("__start"), pl.col("end_date").max().alias("__end")
    )
    spans = spans.rename(dict(zip(nk, ent.parent_key, strict=True)))
    df = df.join(spans, on=list(ent.parent_key), how="left", maintain_order="left", nulls_equal=False)
    d = pl.col(date_field)
    failed = d.is_not_null() & ((d < pl.col("__start")) | (d > pl.col("__end")))
    check = Check("ITINERARY_OUTSIDE_DATES", date_field, failed, d.cast(pl.String),
                  message("ITINERARY_OUTSIDE_DATES", header=ent.field(date_field).header))
    return append_issues(df, [check]).drop("__start", "__end")


def _already_flagged(field_name: str) -> pl.Expr:
    """The row already has an issue on `field_name` (e.g. CODE_LIST from mapping): do not add REQUIRED."""
    return pl.col(ISSUES).list.eval(pl.element().struct.field("field") == field_name).list.any().fill_null(False)


def itinerary_place_required(df: pl.DataFrame, groups: pl.DataFrame | None) -> pl.DataFrame:
    """SPEC 4.7 `province_code`/`country` (C): a day of a DOMESTIC or INBOUND group needs `province_code`;
    a day of an OUTBOUND group needs `province_code` (a day at home) or `country` (a day abroad).

    The group type comes from the batch's own `tour_group` rows. For a group not in the batch (stored
    earlier) the type is unknown here, so only the weaker rule holds: every day needs one of the two.
    """
    entity_name, province_field, country_field, _ = ITINERARY_PLACE
    ent = schema_entity(entity_name)
    link = list(ent.parent_key)
    if groups is not None and not groups.is_empty():
        parent = schema_entity(ent.parent)
        types = (
            groups.filter(key_present(parent.natural_key) & pl.col("group_type").is_not_null())
            .group_by(parent.natural_key)
            .agg(pl.col("group_type").first().alias("__group_type"))
            .rename(dict(zip(parent.natural_key, link, strict=True)))
        )
        types = types.with_columns(pl.col(c).cast(df.schema[c]) for c in link)
        df = df.join(types, on=link, how="left", maintain_order="left", nulls_equal=False)
    else:
        df = df.with_columns(pl.lit(None, pl.String).alias("__group_type"))
    province, country = ent.field(province_field), ent.field(country_field)
    no_province = is_missing(province) & ~_already_flagged(province_field)
    no_country = is_missing(country) & ~_already_flagged(country_field)
    group_type = pl.col("__group_type")
    domestic_day = group_type.is_in(DOMESTIC_DAY_GROUP_TYPES).fill_null(False)
    checks = [
        # domestic/inbound group, or a group of unknown type with no place at all: the province is missing
        Check("REQUIRED", province_field,
              no_province & (domestic_day | (group_type.is_null() & is_missing(country))),
              pl.lit(None, pl.String), message("REQUIRED", header=province.header)),
        # outbound group: a day with no province is a day abroad and needs its country
        Check("REQUIRED", country_field, (group_type == "OUTBOUND").fill_null(False) & no_province & no_country,
              pl.lit(None, pl.String), message("REQUIRED", header=country.header)),
    ]
    return append_issues(df, checks).drop("__group_type")
