"""Freed memory handed back to the system while a batch loads (peak RSS, issue 19).

A load allocates through three allocators: polars' jemalloc, pyarrow's memory pool (mimalloc by
default) and glibc's malloc (Python objects, the CSV reader's read-ahead blocks, the COPY text, the
driver's buffers). Each kept what a chunk freed for reuse, so much of a streamed load's peak RSS was
memory already freed: on the bench's 1 M-row roster (`bench/run.py`, 445-460 MB) glibc's arenas held
~45 MB more than they used, pyarrow's mimalloc ~30 MB more than the CSV reader's ~15 MB, and
jemalloc's lazily freed pages ~15 MB.

- glibc: `release` (`malloc_trim`) hands the free pages of every arena back, once per chunk staged
  (`flow.staging`); a few ms. (A fixed mmap threshold did as much but made the COPY text's writing
  ~40 % slower: every buffer over 128 KiB mapped and zero-filled anew.)
- pyarrow: the CSV reader's buffers come from Arrow's jemalloc with no decay (`arrow_pool`,
  `ARROW_DECAY_MS`), which returns a freed block's pages at once, instead of mimalloc's segments;
  pyarrow's default pool where it has no jemalloc. It costs the reader ~0.2 CPU-s per 1 M rows
  (every block's pages faulted in anew); a 100 ms decay cost a quarter of that and kept ~15 MB more.
- polars configures its jemalloc from `_RJEM_MALLOC_CONF` when it is first imported: pages freed for
  500 ms are purged lazily (`MADV_FREE`, still counted in RSS for another second); `muzzy_decay_ms:0`
  purges them at once (`POLARS_JEMALLOC`, set by `tourlink/__init__.py` before polars loads; a decay
  the environment already sets wins).

Figures: bench/RESULTS.md, "Memory".
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import cache
from typing import Any

POLARS_JEMALLOC = "muzzy_decay_ms:0"
ARROW_DECAY_MS = 0
_JEMALLOC_ENV = "_RJEM_MALLOC_CONF"  # polars appends it to its own defaults: a later key wins


def configure_polars() -> bool:
    """Add `POLARS_JEMALLOC` to polars' allocator settings; False when polars is loaded already
    (its allocator is configured once) or the environment sets the decay itself."""
    if "polars" in sys.modules:
        return False
    given = os.environ.get(_JEMALLOC_ENV, "")
    if "muzzy_decay_ms" in given:
        return False
    os.environ[_JEMALLOC_ENV] = f"{given},{POLARS_JEMALLOC}" if given else POLARS_JEMALLOC
    return True


def release() -> bool:
    """Hand glibc's free pages back to the system (`malloc_trim(0)`); False off glibc."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes
    import ctypes.util

    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS): nothing to trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


@cache
def arrow_pool() -> Any:
    """The memory pool of the CSV reader's Arrow buffers: Arrow's jemalloc, a freed block's pages
    returned after `ARROW_DECAY_MS`; else pyarrow's default pool."""
    import pyarrow as pa

    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(ARROW_DECAY_MS)
    except (NotImplementedError, pa.ArrowNotImplementedError):  # a pyarrow built without it
        pool = pa.default_memory_pool()
    return pool
