"""Merged ranges of an OpenDocument sheet, which calamine does not report for .ods.

Read from content.xml with lxml's iterparse (no entities, no network, no huge trees), counting the
repeat attributes LibreOffice uses for runs of equal rows and cells. Most sheets merge nothing: a
byte scan for the span attribute skips the parse for them.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from lxml import etree

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_SPAN = b"number-rows-spanned"
Merge = tuple[tuple[int, int], tuple[int, int]]


def ods_merges(path: Path) -> dict[str, list[Merge]]:
    """Per sheet name, the merged ranges `((r0, c0), (r1, c1))`, 0-based and inclusive like calamine's."""
    with zipfile.ZipFile(path) as archive:
        with archive.open("content.xml") as member:
            tail = b""
            while block := member.read(1 << 20):
                if _SPAN in tail + block:
                    break
                tail = block[-len(_SPAN):]
            else:
                return {}
        with archive.open("content.xml") as member:
            return _parse(member)


def _parse(member: object) -> dict[str, list[Merge]]:
    merges: dict[str, list[Merge]] = {}
    sheet, row, col = "", 0, 0
    table, tr = f"{{{_TABLE}}}table", f"{{{_TABLE}}}table-row"
    cells = {f"{{{_TABLE}}}table-cell", f"{{{_TABLE}}}covered-table-cell"}
    events = etree.iterparse(
        member, events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    for event, element in events:
        tag = element.tag
        if event == "start":
            if tag == table:
                sheet, row = element.get(f"{{{_TABLE}}}name", ""), 0
                merges.setdefault(sheet, [])
            elif tag == tr:
                col = 0
            elif tag in cells:
                rows = int(element.get(f"{{{_TABLE}}}number-rows-spanned", "1"))
                cols = int(element.get(f"{{{_TABLE}}}number-columns-spanned", "1"))
                if rows > 1 or cols > 1:
                    merges[sheet].append(((row, col), (row + rows - 1, col + cols - 1)))
            continue
        if tag in cells:
            col += int(element.get(f"{{{_TABLE}}}number-columns-repeated", "1"))
            element.clear()
        elif tag == tr:
            row += int(element.get(f"{{{_TABLE}}}number-rows-repeated", "1"))
            element.clear()
    return merges
