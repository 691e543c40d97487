"""connectors/dialects.py: the one table of dialects, every entry naming code that exists."""

from __future__ import annotations

import pytest

from connectors import dialects
from connectors.dialects import DIALECTS, UnknownDialect

HTTP_ERP = {"signed-json": "SignedJson", "oauth-cursor": "OAuthCursor", "legacy-xml": "LegacyXml", "rest": "Rest"}


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_every_entry_is_keyed_by_its_name_and_names_importable_code(name):
    entry = DIALECTS[name]
    assert entry.name == name
    assert entry.incremental in {"updated-since", "after-id", "files"}
    for ref in (entry.reader, entry.check, entry.emulator, entry.vendor, entry.auth):
        if ref is not None:
            assert callable(dialects.resolve(ref)), ref


@pytest.mark.parametrize(("name", "preset"), sorted(HTTP_ERP.items()))
def test_an_http_erp_dialect_reads_with_the_erp_reader_and_its_declarative_preset(name, preset):
    entry = DIALECTS[name]
    assert (entry.reader, entry.check, entry.incremental) == ("connectors.erp.read:read", "connectors.erp.read:check",
                                                             "updated-since")  # fmt: skip
    assert dialects.vendor(name).__name__ == preset
    assert dialects.auth(name) is dialects.resolve("connectors.declarative:source_auth")


def test_the_other_dialects_have_no_vendor_class_or_http_auth_and_an_unknown_one_is_named():
    for name in set(DIALECTS) - set(HTTP_ERP):
        with pytest.raises(UnknownDialect):
            dialects.vendor(name)
    assert dialects.reads_files("sftp-drop") and not dialects.reads_files("rest")
    with pytest.raises(UnknownDialect, match="'soap'.*known: gov-portal"):
        dialects.spec("soap")
