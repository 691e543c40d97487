"""Which text encoding an uploaded CSV is in.

Agencies upload CSV saved by Excel (GBK/GB18030 on Chinese Windows, or UTF-8 with a BOM), by WPS
or by their own scripts (UTF-8). Strict decoding decides almost every case: GBK bytes are almost
never valid UTF-8. charset-normalizer only breaks the tie when neither strict decode succeeds.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import charset_normalizer

SAMPLE_BYTES = 256 * 1024

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


# What charset-normalizer may pick when neither UTF-8 nor GB18030 decodes: the encodings a Chinese
# agency's tools plausibly write. Anything else (cp1252, koi8…) is a binary file mistaken for text.
PLAUSIBLE = {"big5", "big5hkscs", "cp950", "utf_16", "utf_16_le", "utf_16_be", "utf_32"}


class UndecodableText(ValueError):
    """No encoding we accept decodes the sample."""


def _decodes(sample: bytes, encoding: str) -> bool:
    # Incremental decoding, not final: the sample may end in the middle of a multi-byte character.
    try:
        codecs.getincrementaldecoder(encoding)(errors="strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path, sample_bytes: int = SAMPLE_BYTES) -> str:
    """The Python codec name for `path`: utf-8-sig, utf-16, utf-8 or gb18030 (GBK's superset).

    Raises `UndecodableText` when neither UTF-8 nor GB18030 decodes the sample and
    charset-normalizer finds no plausible alternative.
    """
    with path.open("rb") as handle:
        sample = handle.read(sample_bytes)
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    if _decodes(sample, "utf-8"):
        return "utf-8"
    if _decodes(sample, "gb18030"):
        return "gb18030"
    best = charset_normalizer.from_bytes(sample).best()
    if best is None or best.encoding not in PLAUSIBLE:
        raise UndecodableText(f"{path.name}: neither UTF-8 nor GBK/GB18030")
    return codecs.lookup(best.encoding).name


GBK_FAMILY = frozenset({"gbk", "gb2312", "gb18030", "cp936", "x-gbk", "euc-cn"})
_MIN_WIDE = 2  # CJK characters a sample needs before valid UTF-8 counts as evidence


def is_utf8(body: bytes, sample_bytes: int = SAMPLE_BYTES) -> bool:
    """Whether the start of a body decodes strictly as UTF-8 (a character cut at the sample's end is fine)."""
    return _decodes(body[:sample_bytes], "utf-8")


def mislabelled_utf8(body: bytes, declared: str, sample_bytes: int = SAMPLE_BYTES) -> int:
    """How many CJK characters (multi-byte UTF-8) a body declared GBK holds when it is valid UTF-8 (0 when
    it is not evidence of a mislabel).

    GBK text is almost never valid UTF-8 (a GBK lead byte is rarely followed by the continuation bytes
    UTF-8 needs, and never for long), so a declared-GBK body that decodes strictly as UTF-8 with
    several multi-byte characters is UTF-8 mislabelled; read as GBK it would be mojibake (张伟 → 寮犱紵)."""
    if declared.strip().lower() not in GBK_FAMILY:
        return 0
    sample = body[:sample_bytes]
    if not _decodes(sample, "utf-8"):
        return 0
    text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    # CJK (three bytes in UTF-8) is what Chinese UTF-8 holds; GBK pairs that happen to be valid UTF-8
    # decode to two-byte letters (Latin, Cyrillic…), so they are no evidence.
    wide = sum(1 for ch in text if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
    return wide if wide >= _MIN_WIDE else 0
