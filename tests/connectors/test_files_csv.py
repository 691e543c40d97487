"""Reading CSV uploads: GBK from Excel, UTF-8 with or without BOM, large files in chunks."""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl
import pytest

from connectors.encoding import detect_encoding
from connectors.files import UnreadableFile, read_source
from devkit.demo.spreadsheets import write_template_csv
from tourlink.frames import ROW

KNOWN = ["导游证号", "姓名", "证件号码", "手机号码", "团号"]
HEADERS = ["导游证号", "*姓名", "证件号码(必填)", "手机号码"]
ROWS = [
    ["D-2101-000001", "张三", "210102199001011234", "13800138000"],
    ["D-2101-000002", "欧阳·娜娜", "21010219900101123X", None],
    ["D-2101-000003", "李四 ", "210102199001014567", "13900139000"],
]


def test_a_gbk_csv_with_a_title_row_reads_with_chinese_headers(tmp_path):
    path = tmp_path / "导游信息导入模板.csv"
    lines = write_template_csv(path, HEADERS, ROWS, encoding="gbk", title="导游信息导入模板", total_row=True)
    path.read_bytes().decode("gbk")  # really GBK, and not UTF-8
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    (frame,) = read_source(path, known_headers=KNOWN)
    assert frame.file == "导游信息导入模板.csv"
    assert frame.sheet is None
    assert frame.headers == ["导游证号", "姓名", "证件号码", "手机号码"]
    assert frame.data.drop(ROW).rows() == [tuple(r) for r in ROWS]
    assert frame.data[ROW].to_list() == lines == [3, 4, 5]
    assert all(dtype == pl.String for name, dtype in frame.data.schema.items() if name != ROW)


def test_a_utf8_csv_with_a_byte_order_mark_reads_its_first_header(tmp_path):
    path = tmp_path / "bom.csv"
    write_template_csv(path, HEADERS, ROWS, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert detect_encoding(path) == "utf-8-sig"
    (frame,) = read_source(path, known_headers=KNOWN)
    assert frame.headers[0] == "导游证号"
    assert frame.data["姓名"].to_list() == ["张三", "欧阳·娜娜", "李四 "]
    assert frame.data[ROW].to_list() == [2, 3, 4]


def test_encodings_are_told_apart_by_strict_decoding(tmp_path):
    text = "团号,姓名\nT1,张三\n"
    for encoding, expected in [("utf-8", "utf-8"), ("gbk", "gb18030"), ("gb18030", "gb18030")]:
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        assert detect_encoding(path) == expected


def test_blank_lines_short_notes_lines_and_totals_keep_row_numbers_true_to_the_file(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_text(
        "导游信息导入模板\n"  # 1: title, one field only
        "\n"  # 2
        "导游证号,姓名,证件号码\n"  # 3: header
        "D-1,张三,1\n"  # 4
        "\n"  # 5: empty line
        ",,\n"  # 6: blank row as Excel exports it
        "D-2,李四,2\n"  # 7
        "注：证件号码请填写为文本\n"  # 8: notes line without trailing commas
        "说明,,\n"  # 9: notes row with trailing commas
        "D-3,王五,3\n"  # 10
        "合计,3人,\n",  # 11
        encoding="utf-8",
    )
    (frame,) = read_source(path, known_headers=KNOWN)
    assert frame.data.rows() == [("D-1", "张三", "1", 4), ("D-2", "李四", "2", 7), ("D-3", "王五", "3", 10)]


def test_a_line_with_more_fields_than_the_header_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text("导游证号,姓名\nD-1,张三\nD-2,李四,多余\n", encoding="utf-8")
    with pytest.raises(UnreadableFile) as caught:
        list(read_source(path, known_headers=KNOWN))
    assert caught.value.file == "extra.csv"
    assert "第3行" in caught.value.reason_zh


def test_tab_separated_text_is_read_too(tmp_path):
    path = tmp_path / "guides.txt"
    path.write_text("导游证号\t姓名\nD-1\t张三, 导游\n", encoding="utf-8")
    (frame,) = read_source(path, known_headers=KNOWN)
    assert frame.data.rows() == [("D-1", "张三, 导游", 2)]


def test_bytes_that_no_accepted_encoding_decodes_are_unreadable(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(bytes([0x81, 0xFF, 0x80, 0xFF, 0x00, 0x07]) * 64)
    with pytest.raises(UnreadableFile) as caught:
        read_source(path, known_headers=KNOWN)
    assert caught.value.file == "binary.csv"
    assert caught.value.reason_zh.startswith("无法识别文件编码")


def test_an_xlsx_renamed_to_csv_is_told_apart_from_a_broken_csv(tmp_path):
    from devkit.demo.spreadsheets import write_template_xlsx

    path = tmp_path / "名单.csv"
    write_template_xlsx(path, ["导游证号", "姓名"], [["D-1", "张三"]])
    with pytest.raises(UnreadableFile) as caught:
        read_source(path, known_headers=KNOWN)
    assert "xlsx" in caught.value.reason_zh


def test_a_csv_without_a_matching_header_is_unreadable(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="other.csv") as caught:
        read_source(path, known_headers=KNOWN)
    assert caught.value.reason_zh.startswith("无法识别表头")


def write_guides_csv(path, n: int, **extra: pl.Expr) -> None:
    """`n` guides (card number, name, phone, plus `extra` columns) as a UTF-8 CSV."""
    pl.select(
        导游证号=pl.format("D-2101-{}", pl.int_range(n)),
        姓名=pl.repeat("张三", n),
        手机号码=(pl.int_range(n) + 13800000000).cast(pl.String),
        **extra,
    ).write_csv(path)


def test_a_large_csv_streams_in_chunks_with_continuous_row_numbers(tmp_path):
    path = tmp_path / "large.csv"
    n = 300_000
    write_guides_csv(path, n)
    frames = list(read_source(path, known_headers=KNOWN, chunk_rows=50_000))
    assert [f.data.height for f in frames] == [50_000] * 6
    rows = pl.concat([f.data[ROW] for f in frames])
    assert rows.to_list() == list(range(2, n + 2))
    assert frames[-1].data["导游证号"][-1] == f"D-2101-{n - 1}"


def test_row_numbers_stay_true_after_a_short_line_skipped_in_a_later_chunk(tmp_path):
    path = tmp_path / "notes-in-the-middle.csv"
    body = [f"D-{i},张三" for i in range(1, 120_001)]
    body.insert(90_000, "注：以下为补报")  # line 90_002: header is line 1
    body.insert(100_000, "")  # an empty line further down, line 100_002
    path.write_text("导游证号,姓名\n" + "\n".join(body) + "\n", encoding="utf-8")
    frames = list(read_source(path, known_headers=KNOWN, chunk_rows=50_000))
    data = pl.concat([f.data for f in frames])
    assert data.height == 120_000
    numbers = dict(zip(data["导游证号"], data[ROW], strict=True))
    assert numbers["D-1"] == 2
    assert numbers["D-90000"] == 90_001
    assert numbers["D-90001"] == 90_003
    assert numbers["D-99999"] == 100_001
    assert numbers["D-100000"] == 100_003
    assert numbers["D-120000"] == 120_003


def _read_position(path) -> int | None:
    """How far this process has read `path` through its open descriptor (Linux: /proc/self/fdinfo)."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                info = Path(f"/proc/self/fdinfo/{fd}").read_text()
                return int(info.split("pos:")[1].split()[0])
        except OSError:
            continue
    return None


@pytest.mark.skipif(not os.path.isdir("/proc/self/fdinfo"), reason="reads the descriptor's position from /proc")
def test_a_large_csv_is_not_read_far_ahead_of_the_chunk_being_handed_out(tmp_path):
    # Arrow reads a fixed number of blocks ahead (32): with 4 MB blocks a whole 1 M-row roster sat in
    # memory behind the first chunk, and peak memory grew with the file up to 128 MB.
    path = tmp_path / "large.csv"
    n = 600_000
    write_guides_csv(path, n, 备注=pl.repeat("x" * 60, n))
    assert path.stat().st_size > 50 << 20
    frames = read_source(path, known_headers=KNOWN, chunk_rows=10_000)
    first = next(frames)
    assert first.data.height == 10_000
    time.sleep(1.0)  # the IO thread fills its read-ahead queue meanwhile
    position = _read_position(path)
    frames.close()
    assert position is not None
    assert position <= 40 << 20


def test_a_chunk_s_arrow_buffers_are_freed_once_the_caller_drops_it(tmp_path):
    # A chunk's strings are views into the Arrow buffers the reader parsed, taken from
    # `tourlink.memory.arrow_pool()`. The generator kept the chunk's Arrow table while suspended at
    # its yield, so each chunk's buffers stayed alive beside the next one being mapped.
    from tourlink.memory import arrow_pool

    path = tmp_path / "large.csv"
    n = 200_000
    write_guides_csv(path, n, 备注=pl.repeat("x" * 60, n))
    pool = arrow_pool()
    before = pool.bytes_allocated()
    frames = read_source(path, known_headers=KNOWN, chunk_rows=100_000)
    first = next(frames)
    held = pool.bytes_allocated() - before
    assert held > 6 << 20  # the chunk's ~70 B a row of text, in the reader's pool
    del first
    left = pool.bytes_allocated() - before
    frames.close()
    assert left < held / 4


def test_a_short_line_is_a_total_only_when_its_first_field_says_so(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("导游证号,姓名,证件号码\nD-1,张三,1\nD-2,合计\n合计,2人\n", encoding="utf-8")
    with pytest.raises(UnreadableFile) as caught:
        list(read_source(path, known_headers=KNOWN))
    assert "第3行" in caught.value.reason_zh  # the short tourist line is an error, the total line is not


def test_a_complete_line_with_a_totals_word_as_its_last_line_is_data(tmp_path):
    path = tmp_path / "last.csv"
    path.write_text("导游证号,姓名,证件号码\nD-1,张三,1\nD-2,合计,2\n", encoding="utf-8")
    (frame,) = read_source(path, known_headers=KNOWN)
    assert frame.data["姓名"].to_list() == ["张三", "合计"]


def test_excel_scientific_cells_are_flagged_in_a_later_chunk_and_only_there(tmp_path):
    path = tmp_path / "members.csv"
    body = [f"张{i},21010219900101{i:04d},138{i:08d}" for i in range(250)]
    body[230] = "王五,2.10102E+17,1.38001e+10"  # in the third chunk only
    path.write_text("姓名,证件号码,手机号码\n" + "\n".join(body) + "\n", encoding="gbk")
    frames = list(read_source(path, known_headers=KNOWN, chunk_rows=100))
    assert [f.numeric_cells for f in frames[:2]] == [{}, {}]
    flags = frames[2].numeric_cells
    assert sorted(flags) == ["手机号码", "证件号码"]
    assert flags["证件号码"].arg_true().to_list() == flags["手机号码"].arg_true().to_list() == [30]


def test_the_byte_scan_sees_an_exponent_mark_split_across_two_reads(tmp_path):
    import io

    from connectors.files.delimited import _ExponentScan

    path = tmp_path / "split.csv"
    path.write_bytes(b"a,1.2E" + b"+17\n")
    with _ExponentScan(io.FileIO(path, "rb"), always=False) as scan:
        scan.read(6)
        assert not scan.seen
        scan.read(4)
        assert scan.seen
    path.write_bytes(b"a,E 1,+e,12E-3\n")
    with _ExponentScan(io.FileIO(path, "rb"), always=False) as scan:
        scan.read()
        assert not scan.seen
