"""A source's state, read ONE way: every `watermark` row the warehouse holds for it.

State is the streams' watermarks (the newest update time read, the last event id) and the
connectors' own rows (`stream#…`, e.g. the `oauth-cursor` tombstone store). The flow reads it here
before a read and hands it to the reader; the batch writes the reader's new state in the same
transaction as the rows it covers (`flow.merge`), so every worker sees the state of the last
committed batch, and a killed sync leaves none behind.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def stored_state(source: str, warehouse: Any = None) -> dict[str, str]:
    """{stream: value} of `source` (read-only; `warehouse.state.source_state`). No warehouse yet (a
    first sync): empty."""
    from warehouse.state import source_state

    engine = getattr(warehouse, "engine", None)
    own = engine is None
    if own:
        from tourlink import settings

        engine = sa.create_engine(settings.warehouse_url())
    try:
        return source_state(engine, source)
    except sa.exc.DBAPIError:  # no warehouse yet: first sync
        return {}
    finally:
        if own:
            engine.dispose()


def stored_watermarks(source: str, warehouse: Any = None) -> dict[str, str]:
    """The streams' watermarks only (what a person is shown)."""
    from connectors.reading import watermarks_of

    return watermarks_of(stored_state(source, warehouse))


def stored_connector_state(source: str, warehouse: Any = None) -> dict[str, str]:
    """The connector's own state rows only (`stream#…`)."""
    from connectors.reading import connector_state

    return connector_state(stored_state(source, warehouse))
