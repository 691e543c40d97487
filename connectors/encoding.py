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
