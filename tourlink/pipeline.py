"""Kept for old imports (the bench, notebooks): the batch API now lives in `tourlink.flow`.

    tourlink.pipeline.import_files   -> tourlink.flow.files.import_files
    tourlink.pipeline.validate_files -> tourlink.flow.files.validate_files
    tourlink.pipeline.file_inputs    -> tourlink.flow.inputs.file_inputs
    tourlink.pipeline.stage / commit -> tourlink.flow.staging.stage / tourlink.flow.merge.commit
"""

from tourlink.flow.files import import_files, validate_files
from tourlink.flow.handover import StagedBatch
from tourlink.flow.inputs import FIRST_PART_SHARE, Input, UnreadableInput, file_inputs, parents_first, reliance
from tourlink.flow.merge import BatchResult, EntityCounts, commit
from tourlink.flow.staging import ForeignAgencyRows, stage

__all__ = [
    "FIRST_PART_SHARE",
    "BatchResult",
    "EntityCounts",
    "ForeignAgencyRows",
    "Input",
    "StagedBatch",
    "UnreadableInput",
    "commit",
    "file_inputs",
    "import_files",
    "parents_first",
    "reliance",
    "stage",
    "validate_files",
]
