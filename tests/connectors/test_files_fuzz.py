"""The readers under fuzzing: every input ends in frames or a refusal naming the file, never a
traceback, an abort or an unbounded allocation (issue 16 item 1).

In process (no process per case): generated CSV and JSON Lines text, and byte mutations of small
valid Parquet files; the hostile files that once crashed
a reader are kept as a corpus (`hostile.CORPUS`). The case count is printed.

Byte mutations of xls and ods too: about 1 in 75 xls mutations makes calamine ask for 8–500 GB and
abort, which no process survives; the parse guard (`connectors/files/parse_guard.py`) meets them in a
child under an address-space limit, so here they end as refusals like any other.
"""

from __future__ import annotations

import io
import random
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.files import ReaderLimits, UnreadableFile, read_source
from tests.connectors.hostile import CORPUS
from tests.connectors.workbook_writers import write_odfpy, write_openpyxl, write_xlwt
from tests.faults.budget import fuzz_cases

KNOWN = ["团号", "姓名", "证件号码"]
LIMITS = ReaderLimits(max_parse_bytes=512 << 20)  # the seeds are tiny: a mutation past 512 MiB is hostile
# Per generated-input test, three of them: 3,400 each at scale 1 (10,200 with the corpus, issue 16);
# TOURLINK_FUZZ_SCALE shrinks or grows the run (tests/faults/budget.py says what fits CI's budget).
CASES = fuzz_cases(3400)
WORKBOOK_CASES = 600  # each forks the parse guard's child (~3 ms) and reads a workbook
FUZZ = settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
_counts = {"cases": 0, "refused": 0, "read": 0}


def _outcome(path: Path) -> str:
    """'read' or 'refused'; anything else raised is a crash and fails the test."""
    _counts["cases"] += 1
    try:
        for frame in read_source(path, known_headers=KNOWN, chunk_rows=50, limits=LIMITS):
            assert frame.data.height >= 0
    except UnreadableFile as exc:
        assert exc.file == path.name and exc.reason_zh
        _counts["refused"] += 1
        return "refused"
    _counts["read"] += 1
    return "read"


@pytest.fixture(scope="module", autouse=True)
def _report():
    started = time.perf_counter()
    yield
    print(f"\nreader fuzz: {_counts['cases']} cases ({_counts['read']} read, {_counts['refused']} refused, "
          f"0 crashes) in {time.perf_counter() - started:.1f} s")


@pytest.fixture(autouse=True)
def _record(record_property):
    """Each test's cases, for the suite's summary (tests/conftest.py)."""
    before = _counts["cases"]
    yield
    record_property("fuzz_cases", _counts["cases"] - before)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


CELL = st.text(st.sampled_from(list('团号姓名证件号码张三,"\n\r\t 0123456789E+.合计注：\x00\ufeff')), max_size=12)
ROWS = st.lists(st.lists(CELL, max_size=6), max_size=8)


@FUZZ
@given(head=st.sampled_from(["团号,姓名,证件号码\n", "", "标题\n\n团号\t姓名\t证件号码\n"]), rows=ROWS,
       encoding=st.sampled_from(["utf-8", "gb18030", "utf-8-sig", "utf-16"]), junk=st.binary(max_size=8))
def test_csv_text(folder, head, rows, encoding, junk):
    path = folder / "fuzz.csv"
    text = head + "\n".join(",".join(r) for r in rows)
    path.write_bytes(text.encode(encoding, errors="replace") + junk)
    _outcome(path)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                    max_leaves=8)


@FUZZ
@given(records=st.lists(JSON, max_size=5), cut=st.integers(0, 200), junk=st.binary(max_size=4))
def test_jsonl_lines(folder, records, cut, junk):
    import json

    path = folder / "fuzz.jsonl"
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode()
    path.write_bytes(body[: cut or None] + junk)
    _outcome(path)


def _seeds(folder: Path) -> dict[str, bytes]:
    rows = [["T1", "张三", "210102199001011234"], ["T1", "李四", 210102199001011234.0],
            ["T2", "王五", date(2026, 3, 1)]]
    seeds = {}
    for fmt, write in (("xlsx", write_openpyxl), ("xls", write_xlwt), ("ods", write_odfpy)):
        path = folder / f"seed.{fmt}"
        write(path, "标题", KNOWN, rows, 0)
        seeds[fmt] = path.read_bytes()
    buffer = io.BytesIO()
    pq.write_table(pa.table({"团号": ["T1", "T2"] * 50, "姓名": ["张三", None] * 50}), buffer, compression="snappy")
    seeds["parquet"] = buffer.getvalue()
    return seeds


@pytest.fixture(scope="module")
def seeds(folder) -> dict[str, bytes]:
    return _seeds(folder)


def _mutate(data: bytes, seed: int, flips: int) -> bytes:
    rng = random.Random(seed)
    mutated = bytearray(data)
    for _ in range(flips):
        choice = rng.random()
        at = rng.randrange(len(mutated))
        if choice < 0.6:
            mutated[at] = rng.randrange(256)
        elif choice < 0.8:
            del mutated[at : at + rng.randrange(1, 64)]
        else:
            mutated[at:at] = rng.randbytes(rng.randrange(1, 16))
    return bytes(mutated[: rng.choice([len(mutated), rng.randrange(1, len(mutated) + 1)])])


@FUZZ
@given(seed=st.integers(0, 2**32), flips=st.integers(1, 12))
def test_mutated_parquet(folder, seeds, seed, flips):
    path = folder / "fuzz.parquet"
    path.write_bytes(_mutate(seeds["parquet"], seed, flips))
    _outcome(path)


# Byte mutations of xls and ods: calamine parses each in the parse guard's child first
# (`connectors/files/parse_guard.py`), so a mutation that makes it ask for gigabytes ends in a refusal.
WORKBOOK_FUZZ = settings(FUZZ, max_examples=fuzz_cases(WORKBOOK_CASES))


@WORKBOOK_FUZZ
@given(fmt=st.sampled_from(["xls", "ods"]), seed=st.integers(0, 2**32), flips=st.integers(1, 12))
def test_mutated_xls_and_ods(folder, seeds, fmt, seed, flips):
    path = folder / f"fuzz.{fmt}"
    path.write_bytes(_mutate(seeds[fmt], seed, flips))
    _outcome(path)


@pytest.mark.parametrize("make", list(CORPUS.values()), ids=list(CORPUS))
def test_the_kept_hostile_corpus_is_refused_naming_the_file(folder, make):
    path = make(folder)
    assert _outcome(path) == "refused"


def test_the_unmutated_seeds_read(folder, seeds):
    for fmt, data in seeds.items():
        path = folder / f"clean.{fmt}"
        path.write_bytes(data)
        assert _outcome(path) == "read", fmt
