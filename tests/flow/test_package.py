"""tourlink/flow/__init__.py: every public name resolves on first use; the file path imports no sync code."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tourlink.flow as flow
from connectors.http.errors import (
    AuthError,
    BodyRefused,
    BodyTooLarge,
    ParameterError,
    RetryableError,
    SourceError,
)
from connectors.registry import RegistryError, SecretError


@pytest.mark.parametrize("name", flow.__all__)
def test_every_public_name_resolves_to_its_module_s_object(name):
    value = getattr(flow, name)
    if name in flow._MODULE_OF:
        assert value is getattr(sys.modules[flow._MODULE_OF[name]], name)
    assert name in dir(flow)


def test_the_error_groups_say_what_retrying_cannot_fix_and_what_a_failed_source_is():
    assert flow.CONFIGURATION_ERRORS == (
        AuthError, ParameterError, BodyRefused, BodyTooLarge, RegistryError, SecretError,
    )
    assert flow.SOURCE_ERRORS == (RegistryError, SecretError, SourceError)


@pytest.mark.parametrize("error", [BodyRefused("entity reference in body"), BodyTooLarge("over 64 MiB")])
def test_a_body_the_vendor_must_mend_or_the_operator_must_allow_is_not_retried_by_airflow(error):
    from tourlink import nightly

    assert isinstance(nightly._fail_fast(error), nightly.ConfigurationError)
    assert str(error) in str(nightly._fail_fast(error))


def test_a_transient_source_error_stays_worth_another_try():
    from tourlink import nightly

    error = RetryableError("HTTP 503")
    assert nightly._fail_fast(error) is error


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'synk'"):
        flow.synk  # noqa: B018


def test_the_file_import_path_leaves_the_sync_side_unimported():
    probe = (
        "import sys; from tourlink.flow import UnreadableInput, import_files; "
        "print(sorted(m for m in ('tourlink.flow.sources', 'tourlink.flow.drift', 'tourlink.alerts', "
        "'connectors.registry', 'smtplib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
