"""Warehouse tables, derived from the canonical schemas.

One core table per entity, named after it, with the canonical field names as columns and the
natural key as primary key, plus lineage columns (prefixed `_`). Beside them the bookkeeping tables:
batches and their files, quarantine (with its history), findings, watermarks, indicator snapshots.
Timestamps are stored as naive UTC; dates as dates; sets and lists as `|`-joined text.
"""

from __future__ import annotations

import sqlalchemy as sa

from tourlink import schema

metadata = sa.MetaData()

_TYPES = {
    "int": sa.BigInteger,
    "decimal": lambda: sa.Numeric(14, 2),
    "date": sa.Date,
    "timestamp": sa.DateTime,
    "bool": sa.Boolean,
    "json": sa.Text,
    "list": sa.Text,
    "set": sa.Text,
}

# Where a row came from: its batch (whose row in `batch` names the source and when it was received),
# and the file and row within it. Source and time live only on the batch row: repeated on a million
# roster rows they made each row a quarter wider and PostgreSQL's COPY ~20 % slower (issue 9). The
# batch is named by its number (`batch.batch_no`), not its 36-character id: ~35 bytes less on every
# row stored and sent through COPY, ~7 % of a first load (issue 19). The file, likewise, by its number
# within the batch (`lineage_file`): a path on every one of a million rows made COPY ~20 % slower and
# a first load ~9 % (issue 19).
LINEAGE_COLUMNS = ("_batch_no", "_file_no", "_row")
BATCH_NO_SEQUENCE = "batch_no_seq"  # PostgreSQL's numbers; SQLite's batch takes one above the highest

# Indexes the indicator and cross-check queries lean on (SPEC section 6 and 7).
_INDEXES = {
    "travel_agency": [("division_code",), ("parent_uscc",)],
    "tour_group": [("submitted_at",), ("start_date",), ("receiving_uscc",)],
    "e_contract": [("registered_at",), ("signed_at",), ("agency_uscc", "group_code")],
    "group_staff": [("guide_card_no",)],
    "licensing_event": [("subject_uscc", "effective_date")],
}


def _column_type(f: schema.Field) -> sa.types.TypeEngine:
    if f.type == "str":
        return sa.String(f.max_len) if f.max_len else sa.Text()
    return _TYPES[f.type]()


def _entity_table(entity: schema.Entity) -> sa.Table:
    columns = [
        sa.Column(f.name, _column_type(f), primary_key=f.name in entity.natural_key, nullable=f.name not in entity.natural_key)
        for f in entity.fields
    ]
    columns += [
        sa.Column("_batch_no", sa.BigInteger, nullable=False),  # batch.batch_no
        sa.Column("_file_no", sa.Integer),  # lineage_file.file_no within the batch; NULL: no file (a fold)
        sa.Column("_row", sa.BigInteger),
        # hash of the content columns as last merged (NULL: unknown): lets a re-load skip unchanged rows
        sa.Column("_row_hash", sa.BigInteger),
    ]
    table = sa.Table(entity.name, metadata, *columns, comment=entity.label)
    for cols in _INDEXES.get(entity.name, []):
        sa.Index(f"ix_{entity.name}_{'_'.join(cols)}", *(table.c[c] for c in cols))
    return table


entity_tables: dict[str, sa.Table] = {name: _entity_table(e) for name, e in schema.entities().items()}

batch = sa.Table(
    "batch",
    metadata,
    sa.Column("batch_id", sa.String(36), primary_key=True),
    sa.Column("batch_no", sa.BigInteger, nullable=False),  # what every row it loaded names (`_batch_no`)
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # running / committed / failed
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("counts", sa.JSON),  # {entity: {read, loaded, quarantined, unchanged}}
    sa.Column("timings", sa.JSON),  # {stage: seconds}
    sa.Column("error", sa.Text),
    sa.Index("ix_batch_status", "status"),  # the sweep for batches a killed process left running
    sa.Index("ix_batch_batch_no", "batch_no", unique=True),
)

batch_file = sa.Table(
    "batch_file",
    metadata,
    sa.Column("batch_id", sa.String(36), sa.ForeignKey("batch.batch_id"), primary_key=True),
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("file", sa.Text, nullable=False),  # the name as given (what a steward recognises)
    sa.Column("landing_path", sa.Text, nullable=False),  # relative to the landing folder
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False),
    # workbook sheets: {"read": [{name, template}], "skipped": [{name, reason}]}; NULL for CSV etc.
    sa.Column("sheets", sa.JSON),
    sa.Index("ix_batch_file_sha256", "sha256"),  # checksum-keyed resume: was this file loaded before?
)

# The file names a batch's stored rows cite (`_file_no`), numbered within the batch from 1 in the
# order its writer met them. Not `batch_file`: that one lists raw inputs by content (two names of the
# same bytes are one input; a replay's rows cite the files of the batch they were first read in).
lineage_file = sa.Table(
    "lineage_file",
    metadata,
    sa.Column("batch_no", sa.BigInteger, primary_key=True),  # batch.batch_no
    sa.Column("file_no", sa.Integer, primary_key=True),
    sa.Column("file", sa.Text, nullable=False),  # the name as given, as `quarantine.file` has it
    sa.Index("ix_lineage_file_file", "batch_no", "file", unique=True),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(36), nullable=False, index=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("file", sa.Text),
    sa.Column("row", sa.BigInteger),  # row number as a spreadsheet shows it (header row = its own number)
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("natural_key", sa.Text),  # JSON object of the natural key fields as far as they are known
    sa.Column("agency_uscc", sa.String(18), index=True),  # whose data it is: for grouping and region scoping
    sa.Column("division_code", sa.String(6)),  # the agency's division when known, for region scoping
    sa.Column("raw", sa.Text, nullable=False),  # JSON object: the source row as received
    sa.Column("rules", sa.JSON, nullable=False),  # [{rule, severity, field, value, message}]
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),  # open / resolved / waived
    sa.Column("status_reason", sa.Text),
    sa.Column("resolved_by_batch", sa.String(36)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Index("ix_quarantine_entity_key_status", "entity", "natural_key", "status"),
)

quarantine_history = sa.Table(
    "quarantine_history",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("quarantine_id", sa.BigInteger, sa.ForeignKey("quarantine.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("actor", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("batch_id", sa.String(36)),
)

finding = sa.Table(
    "finding",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(36), index=True),  # null for cross-checks computed in the warehouse
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("natural_key", sa.Text),
    sa.Column("agency_uscc", sa.String(18), index=True),
    sa.Column("month", sa.String(7)),  # YYYY-MM, for cross-checks
    sa.Column("rule", sa.String(40), nullable=False),
    sa.Column("severity", sa.String(8), nullable=False),
    sa.Column("field", sa.String(40)),
    sa.Column("message", sa.Text),
    sa.Column("detail", sa.JSON),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

watermark = sa.Table(
    "watermark",
    metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("stream", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),  # ISO timestamp or opaque cursor / last id
    sa.Column("batch_id", sa.String(36), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

indicator_snapshot = sa.Table(
    "indicator_snapshot",
    metadata,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("published_at", sa.DateTime, nullable=False),
    sa.Column("figures", sa.JSON, nullable=False),  # list of {region, indicator, numerator, denominator, value}
    sa.Column("digest", sa.String(64), nullable=False),  # SHA-256 of the figures: unchanged figures, no new version
    sa.Column("reason", sa.Text),  # why a restatement (version > 1) was published (issue 20)
)

# Licensing state of each agency unit over time, folded from licensing_event (warehouse/agency_history.py):
# one row per version, valid on [valid_from, valid_to). Indicator denominators ask "what was it on day X".
agency_state_history = sa.Table(
    "agency_state_history",
    metadata,
    sa.Column("uscc", sa.String(18), primary_key=True),
    sa.Column("valid_from", sa.Date, primary_key=True),
    sa.Column("valid_to", sa.Date),  # exclusive; null = current
    sa.Column("name", sa.Text),
    sa.Column("unit_type", sa.String(16), nullable=False),
    sa.Column("parent_uscc", sa.String(18), index=True),
    sa.Column("licence_no", sa.Text),
    sa.Column("division_code", sa.String(6)),
    sa.Column("business_scope", sa.Text),  # |-joined set
    sa.Column("outbound_granted_date", sa.Date),
    sa.Column("established_date", sa.Date),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_date", sa.Date),
    sa.Column("legal_rep", sa.Text),
    sa.Column("address", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("derived_from", sa.Text),  # |-joined case numbers of the events of valid_from; null = baseline
)

# Who did what, when, from where, to which scope (issue 20): logins, views, downloads and exports,
# waives, replays, publishes, retention runs. Append-only (a trigger refuses UPDATE and DELETE); each
# row's `hash` covers its content and the previous row's hash, so an edited or deleted row breaks the
# chain (`tourlink audit verify`, tourlink/audit/chain.py).
audit_event = sa.Table(
    "audit_event",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("at", sa.DateTime, nullable=False),  # naive UTC
    sa.Column("actor", sa.Text, nullable=False),  # steward username, OS account or "airflow"
    sa.Column("role", sa.String(16)),  # steward / admin / system
    sa.Column("channel", sa.String(16), nullable=False),  # web / cli / airflow
    sa.Column("origin", sa.Text),  # client address (web) or account@host (CLI)
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("region", sa.String(6)),  # the scope acted on; null = national
    sa.Column("target", sa.Text),  # what: a page, a file, an entry id, an agency, a month
    sa.Column("rows", sa.BigInteger),  # rows shown, exported or changed
    sa.Column("unmasked", sa.Boolean, nullable=False),  # full identifiers left the system
    sa.Column("outcome", sa.String(16), nullable=False),  # ok / denied / failed
    sa.Column("detail", sa.Text),  # canonical JSON
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_event_actor_at", "actor", "at"),
    sa.Index("ix_audit_event_at", "at"),
)

# Schema drift (issue 20 item 6, warehouse/drift.py): the fields each sync of a source received, per
# stream (one `sighting` per sync, recorded before its batch is staged), and what the comparison found.
source_field = sa.Table(
    "source_field",
    metadata,
    sa.Column("sighting", sa.String(36), primary_key=True),
    sa.Column("stream", sa.Text, primary_key=True),
    sa.Column("field", sa.Text, primary_key=True),  # dotted path as a mapping names it
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # text / number / bool / list / record / null
    sa.Column("seen_at", sa.DateTime, nullable=False),  # naive UTC
    sa.Index("ix_source_field_source_stream_seen_at", "source", "stream", "seen_at"),
)

drift_finding = sa.Table(
    "drift_finding",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("sighting", sa.String(36), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("stream", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # vanished / renamed / added
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("renamed_to", sa.Text),
    sa.Column("fills", sa.Text),  # |-joined canonical fields (entity.field) the vanished field filled
    sa.Column("detected_at", sa.DateTime, nullable=False),
    sa.Column("alerted", sa.Text),  # |-joined alert targets that accepted it (webhook, smtp); null: none
    sa.Index("ix_drift_finding_source_detected_at", "source", "detected_at"),
)
