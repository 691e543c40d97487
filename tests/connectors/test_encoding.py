"""A body declared GBK is judged mislabelled only on evidence: valid UTF-8 with multi-byte characters;
real GBK, plain ASCII and other labels are not."""

from __future__ import annotations

from connectors.encoding import mislabelled_utf8

NAMES = "<XM>张伟</XM><XM>李娜</XM><XM>王芳</XM>"


def test_utf8_declared_gbk_is_mislabelled_real_gbk_ascii_and_other_labels_are_not():
    assert mislabelled_utf8(NAMES.encode("utf-8"), "GBK") == 6
    assert mislabelled_utf8(NAMES.encode("utf-8"), "gb18030") == 6
    assert mislabelled_utf8(NAMES.encode("gbk"), "GBK") == 0
    assert mislabelled_utf8(b"<XM>Zhang Wei</XM>", "GBK") == 0
    assert mislabelled_utf8(NAMES.encode("utf-8"), "utf-8") == 0
    assert mislabelled_utf8("<XM>é ñ ü</XM>".encode(), "GBK") == 0  # letters, which GBK pairs can look like, are no evidence
    assert mislabelled_utf8("<XM>张</XM>".encode(), "GBK") == 0  # one character is no evidence


def test_a_sample_cut_inside_a_character_still_counts_as_utf8():
    body = NAMES.encode("utf-8") * 50
    assert mislabelled_utf8(body, "GBK", sample_bytes=len(body) - 1) > 0
