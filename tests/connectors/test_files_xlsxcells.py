"""Where the cells of sheet XML are (`xlsxcells.cell_positions`): the same cells, kinds, styles and
value spans whatever shape a writer gives the tags: the common one (`<c r=".." s=".." t="..">`, read
attribute by attribute) and any other (attributes reordered, spaced, extra ones, formulas first)."""

from __future__ import annotations

import numpy as np
import pytest

from connectors.files.xlsxcells import BlockDamaged, cell_positions

# (reference, attributes after r, inner XML): every kind of cell a writer puts in a roster sheet
CELLS = [
    ("A1", ' t="s"', "<v>0</v>"),
    ("B1", ' s="3" t="s"', "<v>12</v>"),
    ("C1", ' t="s" s="14"', "<v>7</v>"),
    ("D1", "", "<v>110101198701010011</v>"),
    ("E1", ' s="2"', "<v>45123.5</v>"),
    ("F1", ' t="str"', "<f>A1&amp;B1</f><v>甲乙</v>"),
    ("G1", ' t="b"', "<v>1</v>"),
    ("H1", ' t="e"', "<v>#N/A</v>"),
    ("I1", ' t="inlineStr"', "<is><t>张三</t></is>"),
    ("J1", ' s="5"', None),
    ("AB1", ' t="d"', "<v>2026-10-01T08:00:00</v>"),
    ("ZZZ1", ' t="n"', "<v>3</v>"),
]


def sheet(cells: list[tuple[str, str, str | None]], row: int = 1, shape=lambda ref, attrs: f'<c r="{ref}"{attrs}') -> bytes:
    tags = []
    for ref, attrs, inner in cells:
        ref = ref.replace("1", str(row))
        tags.append(shape(ref, attrs) + ("/>" if inner is None else f">{inner}</c>"))
    return f'<sheetData><row r="{row}">{"".join(tags)}</row></sheetData>'.encode()


def described(block: bytes) -> list[tuple]:
    found = cell_positions(block, b"")
    assert found is not None
    return [
        (int(r), int(c), chr(k), int(s), block[f:t].decode() if f >= 0 else None)
        for r, c, k, s, f, t in zip(*(found[x] for x in ("row", "col", "kind", "style", "v_from", "v_to")), strict=True)
    ]


def test_every_kind_of_cell_is_found_with_its_reference_kind_style_and_value():
    assert described(sheet(CELLS, row=1234567)) == [
        (1234566, 0, "s", -1, "0"),
        (1234566, 1, "s", 3, "12"),
        (1234566, 2, "s", 14, "7"),
        (1234566, 3, "n", -1, "110101198701010011"),
        (1234566, 4, "n", 2, "45123.5"),
        (1234566, 5, "S", -1, "甲乙"),
        (1234566, 6, "b", -1, "1"),
        (1234566, 7, "e", -1, "#N/A"),
        (1234566, 8, "i", -1, "<t>张三</t>"),
        (1234566, 9, "_", 5, None),
        (1234566, 27, "d", -1, "2026-10-01T08:00:00"),
        (1234566, 18277, "n", -1, "3"),
    ]


@pytest.mark.parametrize("shape", [
    lambda ref, attrs: f'<c{attrs} r="{ref}"',  # the reference last
    lambda ref, attrs: f'<c  r="{ref}"{attrs.replace(" ", chr(10) + "  ")}',  # pretty-printed
    lambda ref, attrs: f'<c r="{ref}"{attrs} cm="1"',  # an attribute the reader does not use
    lambda ref, attrs: f"<c r='{ref}'{attrs}",  # single quotes are not what writers write: still read
], ids=["reference-last", "pretty-printed", "extra-attribute", "single-quoted-reference"])
def test_tags_of_any_other_shape_give_the_same_cells(shape):
    expected = described(sheet(CELLS, row=42))
    try:
        got = described(sheet(CELLS, row=42, shape=shape))
    except BlockDamaged as exc:  # the reader's caller then reads the sheet by calamine
        assert "reference" in str(exc)
        return
    assert got == expected


def test_the_rows_of_a_block_each_take_their_own_row_number():
    block = sheet(CELLS[:2], row=9)[:-len(b"</sheetData>")] + sheet(CELLS[:2], row=10)[len(b"<sheetData>"):]
    assert [(r, c) for r, c, *_ in described(block)] == [(8, 0), (8, 1), (9, 0), (9, 1)]


@pytest.mark.parametrize("broken", [
    b'<sheetData><row r="1"><c r="A1" t="s"><v>0</c></row></sheetData>',
    b'<sheetData><row r="1"><c r="A1" s="x1"><v>0</v></c></row></sheetData>',
    b'<sheetData><row r="1"><c r="1A"><v>0</v></c></row></sheetData>',
])
def test_a_damaged_tag_raises_block_damaged_not_a_wrong_cell(broken):
    with pytest.raises(BlockDamaged):
        cell_positions(broken, b"")


def test_a_prefixed_sheet_reads_like_a_plain_one():
    plain = sheet(CELLS)
    prefixed = plain.replace(b"<", b"<x:").replace(b"<x:/", b"</x:")
    a, b = cell_positions(plain, b""), cell_positions(prefixed, b"x:")
    assert a is not None and b is not None
    assert all(np.array_equal(a[k], b[k]) for k in ("row", "col", "kind", "style"))
    assert [prefixed[f:t] for f, t in zip(b["v_from"], b["v_to"], strict=True) if f >= 0][:3] == [b"0", b"12", b"7"]
