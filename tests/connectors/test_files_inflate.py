"""`connectors.files.inflate`: a member's bytes, inflated by ISA-L, are exactly what `zipfile` reads
(deflated and stored members, chunk by chunk), and a damaged member is refused as `zipfile` refuses it."""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import pytest

from connectors.files import inflate
from connectors.files.inflate import inflated

_XML = b"".join(b'<row r="%d"><c r="A%d" t="s"><v>%d</v></c></row>' % (i, i, i % 97) for i in range(1, 60_000))


def _zip(tmp_path: Path, data: bytes, method: int = zipfile.ZIP_DEFLATED) -> Path:
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", data)
        archive.writestr("xl/noise.bin", os.urandom(5000))
    return path


def test_isal_is_the_inflater():
    assert inflate._inflater is not zlib


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_bytes_are_the_members_in_chunks_no_larger_than_asked(tmp_path, method):
    path = _zip(tmp_path, _XML, method)
    with zipfile.ZipFile(path) as archive:
        chunks = list(inflated(archive, "xl/worksheets/sheet1.xml", 64 << 10))
        assert b"".join(chunks) == archive.read("xl/worksheets/sheet1.xml") == _XML
    assert len(chunks) > 1 and max(map(len, chunks)) <= 64 << 10


def test_an_empty_member_is_no_bytes(tmp_path):
    with zipfile.ZipFile(_zip(tmp_path, b"")) as archive:
        assert b"".join(inflated(archive, "xl/worksheets/sheet1.xml", 1 << 20)) == b""


def _data_start(path: Path, info: zipfile.ZipInfo) -> int:
    header = path.read_bytes()[info.header_offset : info.header_offset + 30]
    return info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")


def _sheet(path: Path) -> zipfile.ZipInfo:
    with zipfile.ZipFile(path) as archive:
        return archive.getinfo("xl/worksheets/sheet1.xml")


def test_a_member_whose_bytes_do_not_match_its_crc_is_refused_as_zipfile_refuses_it(tmp_path):
    path = _zip(tmp_path, _XML)
    info = _sheet(path)
    raw = bytearray(path.read_bytes())
    wrong = ((info.CRC + 1) & 0xFFFFFFFF).to_bytes(4, "little")
    central = raw.index(b"PK\x01\x02")  # the sheet's entry comes first
    raw[central + 16 : central + 20] = wrong
    raw[info.header_offset + 14 : info.header_offset + 18] = wrong
    path.write_bytes(bytes(raw))
    with zipfile.ZipFile(path) as archive:
        with pytest.raises(zipfile.BadZipFile, match="CRC"):
            archive.read("xl/worksheets/sheet1.xml")
        with pytest.raises(zipfile.BadZipFile, match="CRC-32 or size .*sheet1"):
            b"".join(inflated(archive, "xl/worksheets/sheet1.xml", 1 << 20))


@pytest.mark.parametrize("damage", ["garbled", "cut short"])
def test_a_broken_deflate_stream_is_a_bad_zip_naming_the_member(tmp_path, damage):
    path = _zip(tmp_path, _XML)
    info = _sheet(path)
    start = _data_start(path, info)
    raw = bytearray(path.read_bytes())
    if damage == "garbled":
        raw[start + 200 : start + 400] = b"\xff" * 200
    else:  # the stream's end never comes: the archive's bytes after it are zeros
        half = info.compress_size // 2
        raw[start + half : start + info.compress_size] = b"\0" * (info.compress_size - half)
    path.write_bytes(bytes(raw))
    with zipfile.ZipFile(path) as archive, pytest.raises(zipfile.BadZipFile, match="sheet1.xml"):
        b"".join(inflated(archive, "xl/worksheets/sheet1.xml", 1 << 20))
