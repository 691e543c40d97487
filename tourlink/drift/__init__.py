"""Schema drift (issue 20 item 6): the fields a source sent, compared with its mapping and its last batches.

Pure: `fields` says which fields a read carried (per stream) and which a mapping reads; `compare`
turns them, with the fields of the stream's last sightings, into findings. The flow
(`tourlink.flow.drift`) reads the history from the warehouse (`warehouse.drift`), records the
sighting and the findings, and alerts before the batch is staged.
"""

from tourlink.drift.compare import HISTORY, Finding, compare
from tourlink.drift.fields import mapped_fields, received_fields, stream_of

__all__ = ["HISTORY", "Finding", "compare", "mapped_fields", "received_fields", "stream_of"]
