"""A committed batch's counts leave the system (docs/metrics.md): StatsD datagrams reach a real UDP
socket, and the Prometheus textfile parses with prometheus_client's own parser."""

from __future__ import annotations

import socket

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.flow.filings import AGENCY_CSV
from tourlink import flow
from tourlink.flow import import_files
from tourlink.metrics import emit_batch

BAD_AGENCY = "91210102MA0U76540X,无效统一代码旅行社,HEAD,L-LN-CJ00013,210102,DOMESTIC,ACTIVE,2026-01-01 09:00\n"


@pytest.fixture
def agency_csv(tmp_path):
    """One good agency and one whose USCC fails its check digit (quarantined)."""
    path = tmp_path / "travel_agency.csv"
    path.write_text(AGENCY_CSV + BAD_AGENCY, encoding="utf-8")
    return path


@pytest.fixture
def udp_receiver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def _lines(sock: socket.socket) -> list[str]:
    got: list[str] = []
    sock.settimeout(5)
    while not any(line.endswith(".committed:1|c") for line in got):
        got += sock.recv(65535).decode().splitlines()
    return got


def test_an_import_sends_its_counts_as_statsd_and_writes_a_prometheus_textfile(
    agency_csv, tourlink_home, udp_receiver, tmp_path, monkeypatch
):
    folder = tmp_path / "textfile-collector"
    monkeypatch.setenv("TOURLINK_STATSD", f"127.0.0.1:{udp_receiver.getsockname()[1]}")
    monkeypatch.setenv("TOURLINK_PROMETHEUS_DIR", str(folder))
    result = import_files([agency_csv], source="agency-upload")
    counts = vars(result.entities["travel_agency"])
    assert counts["read"] > 0 and counts["quarantined"] > 0  # the filing holds good and bad rows

    lines = _lines(udp_receiver)
    for outcome in ("read", "loaded", "quarantined", "unchanged"):
        assert f"tourlink.batch.agency-upload.travel_agency.{outcome}:{counts[outcome]}|c" in lines
    (duration,) = [line for line in lines if line.startswith("tourlink.batch.agency-upload.duration:")]
    assert duration.endswith("|ms") and float(duration.split(":")[1].removesuffix("|ms")) >= 0

    (path,) = folder.glob("*.prom")
    assert path.name == "tourlink_agency-upload.prom"
    families = {f.name: f for f in text_string_to_metric_families(path.read_text())}
    assert {f.type for f in families.values()} == {"gauge"}
    rows = {s.labels["outcome"]: s.value for s in families["tourlink_batch_rows"].samples
            if s.labels == {"source": "agency-upload", "entity": "travel_agency", "outcome": s.labels["outcome"]}}
    assert rows == {k: float(v) for k, v in counts.items()}
    assert families["tourlink_batch_duration_seconds"].samples[0].value >= 0
    assert families["tourlink_batch_last_commit_timestamp_seconds"].samples[0].value > 1.7e9

    import_files([agency_csv], source="agency-upload")  # the next batch replaces the file: last batch's figures
    again = {f.name: f for f in text_string_to_metric_families(path.read_text())}
    unchanged = [s.value for s in again["tourlink_batch_rows"].samples if s.labels["outcome"] == "unchanged"]
    assert unchanged == [float(counts["loaded"])]


def test_a_sync_the_vendor_slowed_down_says_how_often_in_both_targets(
    sandbox_signed_json, tourlink_home, udp_receiver, tmp_path, monkeypatch
):
    """Three 429s from the vendor: the sync's pushback reaches StatsD as a counter and the textfile as
    a gauge, so an operator can alert on a vendor that pushes back every night."""
    folder = tmp_path / "textfile-collector"
    monkeypatch.setenv("TOURLINK_STATSD", f"127.0.0.1:{udp_receiver.getsockname()[1]}")
    monkeypatch.setenv("TOURLINK_PROMETHEUS_DIR", str(folder))
    sandbox_signed_json.sandbox.faults.http_429 = 3
    result = flow.sync(sandbox_signed_json.source)
    assert result.pushback == 3
    name = sandbox_signed_json.source.name
    assert f"tourlink.batch.{name}.pushback:3|c" in _lines(udp_receiver)
    families = {f.name: f for f in text_string_to_metric_families((folder / f"tourlink_{name}.prom").read_text())}
    assert [(s.labels, s.value) for s in families["tourlink_batch_pushback"].samples] == [({"source": name}, 3.0)]


def test_an_import_sends_no_pushback(agency_csv, tourlink_home, udp_receiver, tmp_path, monkeypatch):
    monkeypatch.setenv("TOURLINK_STATSD", f"127.0.0.1:{udp_receiver.getsockname()[1]}")
    monkeypatch.setenv("TOURLINK_PROMETHEUS_DIR", str(tmp_path))
    import_files([agency_csv], source="agency-upload")
    assert not [line for line in _lines(udp_receiver) if ".pushback:" in line]
    assert "tourlink_batch_pushback" not in (tmp_path / "tourlink_agency-upload.prom").read_text()


def test_an_unreachable_or_misconfigured_target_never_fails_the_batch(agency_csv, tourlink_home, monkeypatch, tmp_path, caplog):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("TOURLINK_PROMETHEUS_DIR", str(blocked))  # a file, not a folder
    monkeypatch.setenv("TOURLINK_STATSD", "not-a-port")
    result = import_files([agency_csv], source="agency-upload")
    assert result.batch_id is not None
    assert "TOURLINK_STATSD must be host:port" in caplog.text
    monkeypatch.setenv("TOURLINK_STATSD", "127.0.0.1:9")  # discard port: UDP needs no listener
    assert emit_batch(result.to_json()) == ["statsd"]
    assert f"prometheus textfile in {blocked}" in caplog.text
