"""The sandbox vendors of tests/connectors, for the commands that sync them."""

from tests.connectors.conftest import (  # noqa: F401 - fixtures
    any_sandbox,
    sandbox_legacy_xml,
    sandbox_oauth_cursor,
    sandbox_signed_json,
)
