"""The load path (`warehouse.load`): the names every caller imports, re-exported from the modules
that hold them since issue 14:

- `warehouse.batch`: `Warehouse`, `BatchWriter`, `BatchWithdrawn`, `FileRecord` (one batch = one
  transaction, the landing folder, lineage, `PATCH_SOURCES`);
- `warehouse.merge`: `MergeCounts`, `StorableRows`, `storable` (rows merged by natural key, set-based);
- `warehouse.quarantine`: rejected rows and the findings of loaded ones;
- `warehouse.bulk`: the COPY / CSV text paths, temporary tables and the storage form;
- `warehouse.state`: the source watermarks, committed with the rows they cover.
"""

from warehouse.batch import PATCH_SOURCES, BatchWithdrawn, BatchWriter, FileRecord, Warehouse
from warehouse.merge import MergeCounts, StorableRows, storable

__all__ = [
    "PATCH_SOURCES",
    "BatchWithdrawn",
    "BatchWriter",
    "FileRecord",
    "MergeCounts",
    "StorableRows",
    "Warehouse",
    "storable",
]
