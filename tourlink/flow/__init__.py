"""The one flow: the only place that wires reader → mapping → validators → warehouse.

Connectors only read (`connectors.reading.Extract`); mappings, validators and the warehouse know
nothing of one another. The flow:

- reads a source's state from the warehouse (`state.stored_state`), calls the dialect's reader with
  its config, that state and the window (`sources.sync`), and loads what came back as one batch with the
  new state (`batch.load_batch`, the one function where a batch is wired), then lets the warehouse
  derive what follows from what landed (`warehouse.derived`);
- imports files as one batch, parents first whatever their order (`files.import_files`);
- runs an SFTP drop: downloads, orders, imports each file, archives or rejects it (`drop.run`);
- splits a sync into Airflow's extract → validate → merge with an explicit hand-over (`steps`);
- tells a warehouse failing under a batch (a cut connection) as what it left (`outage`).

The CLI and the Airflow task bodies (`tourlink.nightly`) call these and nothing below them.

Each name is imported on first use (PEP 562): `tourlink import` needs the file path only, and the
sync side (registry, drift, alerts with smtplib and ssl) costs ~25 ms of its start-up
(bench/startup.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.reading import Window
    from connectors.registry import SourceConfig, get_source, load_sources
    from tourlink.flow.batch import load_batch
    from tourlink.flow.files import import_files, validate_files
    from tourlink.flow.handover import HandoverMissing, StagedBatch
    from tourlink.flow.inputs import Input, UnreadableInput, file_inputs, parents_first, reliance
    from tourlink.flow.merge import BatchResult, EntityCounts, commit
    from tourlink.flow.outage import WarehouseFailed, as_failure, database_errors
    from tourlink.flow.sources import SyncResult, check, sync
    from tourlink.flow.staging import ForeignAgencyRows, stage
    from tourlink.flow.state import stored_state

    CONFIGURATION_ERRORS: tuple[type[Exception], ...]
    SOURCE_ERRORS: tuple[type[Exception], ...]

_WHERE = {
    "connectors.reading": ("Window",),
    "connectors.registry": ("SourceConfig", "get_source", "load_sources"),
    "tourlink.flow.batch": ("load_batch",),
    "tourlink.flow.files": ("import_files", "validate_files"),
    "tourlink.flow.handover": ("HandoverMissing", "StagedBatch"),
    "tourlink.flow.inputs": ("Input", "UnreadableInput", "file_inputs", "parents_first", "reliance"),
    "tourlink.flow.merge": ("BatchResult", "EntityCounts", "commit"),
    "tourlink.flow.outage": ("database_errors", "WarehouseFailed", "as_failure"),
    "tourlink.flow.sources": ("SyncResult", "check", "sync"),
    "tourlink.flow.staging": ("ForeignAgencyRows", "stage"),
    "tourlink.flow.state": ("stored_state",),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}


def _errors() -> dict[str, tuple[type[Exception], ...]]:
    from connectors.http.errors import AuthError, BodyRefused, BodyTooLarge, ParameterError, SourceError
    from connectors.registry import RegistryError, SecretError

    return {
        # What a person must fix (a registry file, a secret, rejected credentials, a request the
        # vendor refuses, a body the vendor must mend or a bound the operator must raise): the same
        # request gets the same answer, so retrying does not help. Everything else is worth another try.
        "CONFIGURATION_ERRORS": (
            AuthError, ParameterError, BodyRefused, BodyTooLarge, RegistryError, SecretError,
        ),
        # What `tourlink sync` / `sources check` report as a failed source (exit 3) rather than a crash.
        "SOURCE_ERRORS": (RegistryError, SecretError, SourceError),
    }


def __getattr__(name: str) -> Any:
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    elif name in ("CONFIGURATION_ERRORS", "SOURCE_ERRORS"):
        value = _errors()[name]
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "CONFIGURATION_ERRORS",
    "database_errors",
    "SOURCE_ERRORS",
    "BatchResult",
    "EntityCounts",
    "ForeignAgencyRows",
    "HandoverMissing",
    "Input",
    "SourceConfig",
    "StagedBatch",
    "SyncResult",
    "UnreadableInput",
    "WarehouseFailed",
    "Window",
    "as_failure",
    "check",
    "commit",
    "file_inputs",
    "get_source",
    "import_files",
    "load_batch",
    "load_sources",
    "parents_first",
    "reliance",
    "stage",
    "stored_state",
    "sync",
    "validate_files",
]
