"""Every ERP source passes the conformance kit against its sandbox (devkit/conformance.py)."""

from devkit.conformance import conformance_test

test_signed_json_conforms = conformance_test("sandbox_signed_json")
test_oauth_cursor_conforms = conformance_test("sandbox_oauth_cursor")
test_legacy_xml_conforms = conformance_test("sandbox_legacy_xml")
