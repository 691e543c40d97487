"""`connector new` signs a URL sample as the dialect's reader would, so a signing vendor answers data."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from devkit.onboarding.scaffold import scaffold
from devkit.onboarding.signing import envelope_error
from tests.devkit.onboarding.conftest import CREDENTIALS, sample_urls
from tourlink.cli import app


def _new(vendor, out, *extra: str):
    args = ["connector", "new", "qiantang", "--dialect", "signed-json", "--region", "330000", "--out", str(out)]
    for url in sample_urls(vendor):
        args += ["--sample", url]
    return CliRunner().invoke(app, [*args, *extra])


def test_the_sample_request_is_signed_with_the_named_credentials_and_the_vendor_answers_data(vendor, tmp_path) -> None:
    result = _new(vendor, tmp_path, "--credential", "app_id=env:QIANTANG_APP_ID", "--credential", "sign_key=env:QIANTANG_SIGN_KEY")
    assert result.exit_code == 0, result.output
    assert vendor.signed_requests == 2
    teams = json.loads((tmp_path / "tests/connectors/samples/qiantang/teams.json").read_text(encoding="utf-8"))
    assert teams["code"] == 0 and len(teams["data"]["list"]) == 24
    text = (tmp_path / "connectors/sources/qiantang.yaml").read_text(encoding="utf-8")
    registry = yaml.safe_load(text)
    assert registry["credentials"] == CREDENTIALS and registry["base_url"] == vendor.url
    assert registry["streams"] == ["teams", "contracts"]
    assert "# REVIEW base_url" not in text and "# REVIEW credentials" not in text
    written = "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file())
    assert vendor.credentials["sign_key"] not in written + result.output


def test_an_unsigned_sample_names_the_vendors_error_and_the_fix(vendor, tmp_path) -> None:
    result = _new(vendor, tmp_path)
    assert result.exit_code == 2
    assert "code 40001" in result.output and "--credential ROLE=env:VAR" in result.output
    assert "no array of objects" not in result.output
    assert not (tmp_path / "connectors").exists(), "nothing is written from a refused sample"


def test_a_secret_given_in_clear_is_refused_without_echoing_it(vendor, tmp_path) -> None:
    result = _new(vendor, tmp_path, "--credential", f"sign_key={vendor.credentials['sign_key']}")
    assert result.exit_code == 2 and "never the secret itself" in result.output
    assert vendor.credentials["sign_key"] not in result.output and vendor.requests == 0


def test_an_unset_credential_variable_and_an_unknown_role_are_named(vendor, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("QIANTANG_SIGN_KEY")
    unset = _new(vendor, tmp_path, "--credential", "app_id=env:QIANTANG_APP_ID", "--credential", "sign_key=env:QIANTANG_SIGN_KEY")
    assert unset.exit_code == 2 and "QIANTANG_SIGN_KEY" in unset.output
    unknown = _new(vendor, tmp_path, "--credential", "token=env:QIANTANG_APP_ID")
    assert unknown.exit_code == 2 and "app_id, sign_key" in unknown.output


def test_a_file_sample_leaves_review_lines_for_the_placeholder_address_and_the_chosen_credentials(vendor, tmp_path) -> None:
    made = scaffold("first", "signed-json", sample_urls(vendor), out=tmp_path / "a", credentials=CREDENTIALS)
    saved = made.samples[0]
    text = scaffold("qiantang", "signed-json", [str(saved)], out=tmp_path / "b", region="330000").registry.read_text(encoding="utf-8")
    assert "base_url: https://vendor.example.cn" in text
    assert "# REVIEW base_url: https://vendor.example.cn is a placeholder" in text
    assert "# REVIEW credentials.app_id: env:QIANTANG_APP_ID is a name chosen here" in text
    assert "# REVIEW credentials.sign_key: env:QIANTANG_SIGN_KEY is a name chosen here" in text


def test_an_error_envelope_is_told_from_data() -> None:
    assert envelope_error(b'{"code": 40001, "msg": "bad sign", "data": null}') == "code 40001: bad sign"
    assert envelope_error(b'{"code": 0, "msg": "success", "data": {"list": []}}') is None
    assert envelope_error(b"<Response/>") is None
