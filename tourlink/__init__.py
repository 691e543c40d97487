"""tourlink: data-exchange middleware of the national tourism regulatory service platform.

Importing the package first (the `tourlink` command, the Airflow tasks) also sets how polars'
allocator returns memory, before polars is loaded: polars' jemalloc keeps freed pages 0.5 s as
"dirty" and then 1 s more as "muzzy" (`MADV_FREE`: still counted resident until the kernel wants
them back). A load streams ~100 MB/s of short-lived frames through it, so the muzzy second alone
held ~20–30 MB of peak RSS at 1 M rows (`bench/RESULTS.md`, h19mem); purging at once after the dirty
half-second costs no measurable CPU (a shorter dirty decay did: +5–15 % CPU). An operator's own
`_RJEM_MALLOC_CONF` is left as it is (polars appends it to its defaults).
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "muzzy_decay_ms:0")

__version__ = "0.1.0"
