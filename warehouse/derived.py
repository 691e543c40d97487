"""What the warehouse derives from rows once they are committed, triggered by what can have landed.

A derivation is keyed by the entity whose rows it folds: licensing events re-fold the agencies they
touch into `travel_agency` and its state history (`agency_history.refold_pending`). The flow calls
`after_commit` after every committed batch with the entities that batch could produce (its
mappings'), whatever the source: no connector hook, no dialect in sight. Each derivation is
idempotent and catches up on its own (a run that died between its commit and the fold is folded by
the next batch of that source, even one that loaded nothing new).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa


def _refold(engine: sa.Engine, source: str) -> dict[str, int]:
    from warehouse.agency_history import refold_pending

    return {"folded": refold_pending(engine, source=source)}


# entity whose rows landed -> (the entity derived from them, the derivation)
DERIVATIONS: dict[str, tuple[str, Callable[[sa.Engine, str], dict[str, int]]]] = {
    "licensing_event": ("travel_agency", _refold),
}


def after_commit(engine: sa.Engine, *, source: str, entities: Iterable[str]) -> dict[str, dict[str, int]]:
    """Run every derivation the batch's `entities` trigger; {derived entity: counts}."""
    done: dict[str, dict[str, int]] = {}
    for entity in dict.fromkeys(entities):
        if entity in DERIVATIONS:
            target, derive = DERIVATIONS[entity]
            done[target] = derive(engine, source)
    return done
