"""A vendor answering a very large XML body (issue 16: a 200 MB body once took 4–5 GB).

At the default bound (64 MiB) the real `tourlink sync` refuses it in one line naming the source, the
request, the bound and the setting, exit 3, nothing committed; with the bound raised, the body is
streamed to a temp file (over `spill_body_bytes`), parsed from it incrementally and landed by path:
the process grows by a small part of the body, the landed raw file is the body served byte for
byte, and no temp file is left behind."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
import yaml

from tests.faults.big_xml_vendor import BigXmlVendor

TOURLINK = str(Path(sys.executable).parent / "tourlink")
MIB = 1 << 20
# Runs the command and prints its peak RSS (KiB) as the last line of stderr: this child's own figure,
# whatever else the test process has run.
_PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(r.returncode)")


def _sync(tmp_path: Path, body_bytes: int, max_body_bytes: int | None) -> tuple[subprocess.CompletedProcess, int, str]:
    """Run `tourlink sync` against the big vendor: the run, the child's peak RSS in MiB and the
    SHA-256 of the body served."""
    vendor = BigXmlVendor(body_bytes)
    folder = tmp_path / f"registry-{body_bytes}"
    folder.mkdir(parents=True)
    spec = yaml.safe_load((Path(__file__).parents[2] / "connectors/sources/sandbox_legacy_xml.yaml").read_text("utf-8"))
    spec |= {"name": "big_xml", "base_url": vendor.url}
    if max_body_bytes:
        spec["options"]["max_body_bytes"] = max_body_bytes
    (folder / "big_xml.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "TOURLINK_HOME": str(tmp_path / "home"), "SANDBOX_LEGACY_XML_ACCOUNT": "acct-7f3",
           "SANDBOX_LEGACY_XML_PASSWORD": "pw-9a8b7c"}
    env.pop("TOURLINK_WAREHOUSE_URL", None)
    try:
        run = subprocess.run([sys.executable, "-c", _PEAK, TOURLINK, "sync", "big_xml", "--registry", str(folder),
                              "--json"], env=env, capture_output=True, text=True, timeout=300)
    finally:
        vendor.close()
    *lines, peak_kib = run.stderr.rstrip("\n").split("\n")
    done = subprocess.CompletedProcess(run.args, run.returncode, run.stdout, "\n".join(lines))
    return done, int(peak_kib) >> 10, vendor.sha256


def _query(tmp_path: Path, sql: str) -> list[tuple]:
    db = tmp_path / "home" / "warehouse.db"
    if not db.exists():
        return []
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.exec_driver_sql(sql)]
    engine.dispose()
    return rows


def _committed(tmp_path: Path) -> int:
    rows = _query(tmp_path, "select count(*) from batch where status = 'committed'")
    return rows[0][0] if rows else 0


def _landed_sha256(tmp_path: Path) -> tuple[str, str]:
    """The SHA-256 the batch recorded for the page, and the one of the landed file's bytes."""
    [(recorded, relative)] = _query(tmp_path, "select sha256, landing_path from batch_file")
    digest = hashlib.sha256()
    with open(tmp_path / "home" / "landing" / relative, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return recorded, digest.hexdigest()


def _temp_files_left(tmp_path: Path) -> list[str]:
    folder = tmp_path / "home" / "tmp"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_200_mb_body_at_the_default_bound_is_refused_naming_source_bound_and_setting(tmp_path):
    run, _, _ = _sync(tmp_path, 200 * MIB, None)
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr
    line = run.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert line.startswith("sync big_xml failed:") and "/export/teams.do" in line
    assert f"{200 * MIB} bytes is over the limit of {64 * MIB}" in line
    assert "options.max_body_bytes" in line and "nothing of this sync was loaded" in line
    assert "pw-9a8b7c" not in line
    assert _committed(tmp_path) == 0
    assert _temp_files_left(tmp_path) == []


def test_with_the_bound_raised_a_200_mb_body_is_spilled_parsed_from_disk_and_landed_whole(tmp_path):
    small, small_peak, _ = _sync(tmp_path, 2 * MIB, 256 * MIB)  # under spill_body_bytes: read in memory
    assert small.returncode == 0, small.stderr
    big, big_peak, served = _sync(tmp_path / "big", 200 * MIB, 256 * MIB)
    assert big.returncode == 0, big.stderr
    assert '"teams": 200' in big.stdout
    growth = big_peak - small_peak
    # The body goes to a temp file as it arrives, the XML is parsed from that file one team at a time
    # and landed by path: the process grows by a small part of the body (it once grew by ~1x it,
    # and 4-5 GB before streamed parsing).
    assert growth < 0.5 * 198, (small_peak, big_peak)
    recorded, landed = _landed_sha256(tmp_path / "big")
    assert recorded == landed == served
    assert _temp_files_left(tmp_path / "big") == []
