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
"""

from connectors.http.errors import AuthError, ParameterError, SourceError
from connectors.reading import Window
from connectors.registry import RegistryError, SecretError, SourceConfig, get_source, load_sources
from tourlink.flow.batch import load_batch
from tourlink.flow.files import import_files, validate_files
from tourlink.flow.handover import HandoverMissing, StagedBatch
from tourlink.flow.inputs import Input, UnreadableInput, file_inputs, parents_first, reliance
from tourlink.flow.merge import BatchResult, EntityCounts, commit
from tourlink.flow.outage import DATABASE_ERRORS, WarehouseFailed, as_failure
from tourlink.flow.sources import SyncResult, check, sync
from tourlink.flow.staging import ForeignAgencyRows, stage
from tourlink.flow.state import stored_state

# What a person must fix (a registry file, a secret, rejected credentials, a request the vendor
# refuses): retrying does not help. Everything else a source raises is worth another try.
CONFIGURATION_ERRORS = (AuthError, ParameterError, RegistryError, SecretError)
# What `tourlink sync` / `sources check` report as a failed source (exit 3) rather than a crash.
SOURCE_ERRORS = (RegistryError, SecretError, SourceError)

__all__ = [
    "CONFIGURATION_ERRORS",
    "DATABASE_ERRORS",
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
