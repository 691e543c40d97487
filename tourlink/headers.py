"""How a header cell is compared with the import templates' header texts (SPEC section 5).

One rule for both the file readers (finding the header row) and mapping (matching columns to fields):
two different normalisers once made a header the reader found unknown to mapping.
"""

from __future__ import annotations

import re
import unicodedata

REQUIRED_MARKS = "*★※"
_TRAILING_NOTE = re.compile(r"(?:\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|<[^<>]*>)$")
_WHITESPACE = re.compile(r"\s+")
# Invisible characters a damaged export leaves in a header cell: control characters (a leading NUL),
# a second byte-order mark, zero-width spaces and joiners, direction marks.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def normalise_header(text: str) -> str:
    """A header cell as templates are matched: NFKC, no whitespace, no required markers or notes.

    `＊证件号码（必填）`, ` 证件 号码 ` and `\\ufeff\\ufeff证件号码` (a second BOM) all become `证件号码`; a header that is only a note
    (`(备注)`) keeps it, since nothing else names the column.
    """
    name = _WHITESPACE.sub("", _INVISIBLE.sub("", unicodedata.normalize("NFKC", str(text))))
    while True:
        before = name
        name = name.strip(REQUIRED_MARKS)
        note = _TRAILING_NOTE.search(name)
        if note is not None and note.start() > 0:
            name = name[: note.start()]
        if name == before:
            return name
