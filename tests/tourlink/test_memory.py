"""`tourlink.memory`: what a loading process hands back to the system (peak RSS, issue 19)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tourlink import memory

GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None


def _run(code: str, env: dict[str, str]) -> str:
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout.strip()


def test_importing_tourlink_first_sets_polars_allocator_to_purge_freed_pages_at_once():
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    code = "import tourlink, polars, os; print(os.environ['_RJEM_MALLOC_CONF'])"
    # polars prepends its own defaults (dirty 500 ms, muzzy 1000 ms); the later key wins in jemalloc
    assert _run(code, env).endswith(memory.POLARS_JEMALLOC)


def test_a_decay_the_environment_sets_is_kept_and_polars_loaded_first_is_left_alone():
    env = {**os.environ, "_RJEM_MALLOC_CONF": "muzzy_decay_ms:250"}
    assert _run("import tourlink, os; print(os.environ['_RJEM_MALLOC_CONF'])", env) == "muzzy_decay_ms:250"
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    code = ("import os, polars; conf = os.environ['_RJEM_MALLOC_CONF']; "
            "from tourlink.memory import configure_polars; print(configure_polars(), os.environ['_RJEM_MALLOC_CONF'] == conf)")  # fmt: skip
    assert _run(code, env) == "False True"


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_release_hands_back_the_pages_glibc_kept_after_a_chunk_was_freed():
    # glibc raises its mmap threshold to a freed mapped block's size: the 256 KB blocks that follow
    # come from the heap, and freeing them (a block kept above them stops the heap's top being cut)
    # leaves ~100 MB resident until `release`.
    code = """
import os
from tourlink.memory import release
page = os.sysconf("SC_PAGE_SIZE")
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * page >> 20
big = bytearray(32 << 20); del big
blocks = [bytearray(b"x" * (256 << 10)) for _ in range(400)]
top = bytearray(b"x" * (256 << 10))
del blocks
before = rss()
assert release()
print(before - rss())
"""
    assert int(_run(code, dict(os.environ))) > 80


def test_the_csv_reader_s_arrow_pool_is_jemalloc_returning_freed_pages_when_pyarrow_has_it():
    import pyarrow as pa

    pool = memory.arrow_pool()
    try:
        pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowNotImplementedError):
        assert pool is pa.default_memory_pool()
        return
    assert pool.backend_name == "jemalloc"
    assert memory.arrow_pool() is pool
