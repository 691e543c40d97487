"""`tourlink connector new`: a registry file, a suggested mapping and a conformance test from a sample.

Everything a new vendor needs is written as files a person reviews and commits: the registry file
(`connectors/sources/<name>.yaml`, credentials as `env:` references named after the source, never
values), the mapping (`mappings/sources/<mapping>.yaml`, see `suggest`), the recorded sample
(`tests/connectors/samples/<name>/`) and a test that keeps the pair honest
(`tests/connectors/test_<name>_conformance.py`). Outside the repository (`--out`), the registry
file names its mapping by absolute path so the pair works from there.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from devkit.onboarding.sample import Sample, read_body, read_sample
from devkit.onboarding.signing import CredentialError, Signer, credential_refs, envelope_error
from devkit.onboarding.suggest import MappingSuggestion, suggest

REPO = Path(__file__).resolve().parents[2]
DIALECTS = ("signed-json", "oauth-cursor", "legacy-xml", "sftp-drop", "gov-portal", "rest")
CREDENTIALS = {
    "signed-json": ("app_id", "sign_key"),
    "oauth-cursor": ("client_id", "client_secret"),
    "legacy-xml": ("account", "password"),
    "sftp-drop": ("private_key", "known_hosts"),
    "gov-portal": ("gateway_key", "gateway_secret"),
    "rest": ("token",),
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
NEXT_KEYS = ("links.next", "next", "next_cursor", "nextCursor", "cursor", "paging.next", "data.next")
TOTAL_KEYS = ("meta.total", "total", "totalCount", "total_count", "data.total", "count", "meta.count")


class ScaffoldError(ValueError):
    """The name, dialect or sample cannot be scaffolded (the message says why)."""


@dataclass
class Scaffold:
    """What `connector new` wrote."""

    name: str
    registry: Path
    mapping: Path
    test: Path
    samples: list[Path]
    suggestion: MappingSuggestion


@dataclass
class _Fetched:
    sample: Sample
    body: bytes
    filename: str
    url: str | None = None


def env_name(source: str, role: str) -> str:
    """The environment variable holding `role` of `source` (SANDBOX_JSONAPI_TOKEN)."""
    return re.sub(r"[^A-Z0-9]+", "_", f"{source}_{role}".upper()).strip("_")


def _fetch(spec: str, headers: dict[str, str], signer: Signer | None = None) -> _Fetched:
    if spec.startswith(("http://", "https://")):
        import httpx

        parts = urlsplit(spec)
        params, sent_headers = dict(parse_qsl(parts.query, keep_blank_values=True)), dict(headers)
        if signer is not None:
            params, sent_headers = signer.sign(parts.path, params, sent_headers)
        base = f"{parts.scheme}://{parts.netloc}{parts.path}"
        try:
            reply = httpx.get(base, params=params, headers=sent_headers, timeout=30, trust_env=False, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise ScaffoldError(f"sample {parts.path}: {type(exc).__name__}: the vendor at {parts.netloc} did not answer") from None
        if reply.status_code != 200:
            raise ScaffoldError(f"sample {parts.path}: HTTP {reply.status_code}")
        refused = envelope_error(reply.content)
        if refused:
            hint = "" if signer else " (give the credentials with --credential ROLE=env:VAR so the request is signed)"
            raise ScaffoldError(f"sample {parts.path}: the vendor refused the request: {refused}{hint}")
        path = parts.path.rstrip("/")
        stem = path.rsplit("/", 1)[-1] or "sample"
        is_xml = reply.content.lstrip().startswith(b"<")
        filename = f"{stem}.{'xml' if is_xml else 'json'}"
        return _Fetched(read_body(reply.content, filename), reply.content, filename, spec)
    path = Path(spec)
    if not path.is_file():
        raise ScaffoldError(f"sample {spec}: no such file")
    return _Fetched(read_sample(path), path.read_bytes(), path.name)


def _dig(payload: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(payload, dict) or part not in payload:
            return None
        payload = payload[part]
    return payload


def _present(envelope: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """The first key the envelope has (a null value counts: the last page's `links.next` is null)."""
    for key in keys:
        head, _, last = key.rpartition(".")
        container = _dig(envelope, head) if head else envelope
        if isinstance(container, dict) and last in container:
            return key
    return None


def _stream(fetched: _Fetched) -> str:
    return Path(fetched.filename).stem


def _rest_options(fetched: list[_Fetched], suggestion: MappingSuggestion) -> tuple[dict[str, Any], list[str]]:
    """Registry options of a `rest` source, read off the samples' envelopes; what is unknown is a review note."""
    options: dict[str, Any] = {"paths": {}}
    notes: list[str] = []
    first = fetched[0]
    for f in fetched:
        options["paths"][_stream(f)] = urlsplit(f.url).path if f.url else f"/{_stream(f)}"
        if not f.url:
            notes.append(f"paths.{_stream(f)}: the sample was a file; set the stream's real path")
    if first.sample.kind == "jsonapi":
        options["format"] = "jsonapi"
    else:
        options["format"] = "json"
        options["records"] = first.sample.record_path or "items"
    envelope = first.sample.envelope
    nxt = _present(envelope, NEXT_KEYS)
    if nxt:
        options["next"] = nxt
        value = _dig(envelope, nxt)
        if isinstance(value, str) and not value.startswith(("/", "http")):
            options["cursor_param"] = "cursor"
            notes.append("cursor_param: the next page token is sent back as which parameter?")
    else:
        notes.append("next: no next link or cursor found in the sample; how does the vendor paginate?")
    total = _present(envelope, TOTAL_KEYS)
    if total:
        options["total"] = total
    query = dict(parse_qsl(urlsplit(first.url).query)) if first.url else {}
    size = next((k for k in query if "size" in k.lower() or "limit" in k.lower()), None)
    if size:
        options["page_size_param"] = size
        options["page_size"] = 100
    updated = next((e.fields["updated_at"].source for e in suggestion.entities.values()
                    if e.explode is None and "updated_at" in e.fields), None)
    if updated:
        options["updated_field"] = updated
        notes.append("since_param: which query parameter filters on the update time (incremental sync)?")
    else:
        notes.append("updated_field: no update time found; every sync will read everything")
    records = first.sample.records
    options["key_field"] = "id" if records and "id" in records[0] else next(iter(records[0]), "id") if records else "id"
    explodes = [e.explode for e in suggestion.entities.values() if e.explode]
    if explodes:
        options["list_columns"] = explodes
    options.update({"timeout_seconds": 30, "request_budget": 5000, "lookback_minutes": 10})
    return options, notes


PLACEHOLDER_URL = "https://vendor.example.cn"


def _base_url(fetched: list[_Fetched], dialect: str) -> str:
    url = next((f.url for f in fetched if f.url), None)
    if url:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"
    return "sftp://user@host:22" if dialect == "sftp-drop" else PLACEHOLDER_URL


def _streams(dialect: str, fetched: list[_Fetched]) -> list[str]:
    """The dialect's streams (its vendor's table), else the samples' names."""
    from connectors import dialects as table

    try:
        return list(table.vendor(dialect).streams)
    except Exception:  # noqa: BLE001 - a dialect without a vendor class (or a declarative one): the samples say
        return list(dict.fromkeys(_stream(f) for f in fetched))


def registry_text(name: str, dialect: str, fetched: list[_Fetched], suggestion: MappingSuggestion,
                  mapping_ref: str, region: str | None, credentials: dict[str, str] | None = None) -> str:
    """The registry file: the dialect's credentials as env references, streams, mapping, options.

    Every value the samples could not tell is a `# REVIEW` line: a placeholder `base_url` (file
    samples), credential references chosen here rather than given, a missing region."""
    if dialect == "rest":
        options, notes = _rest_options(fetched, suggestion)
        streams = list(options["paths"])
    else:
        options, notes = {"page_size": 100, "lookback_minutes": 10, "request_budget": 5000, "timeout_seconds": 30}, []
        streams = _streams(dialect, fetched) if dialect != "sftp-drop" else []
    base_url = _base_url(fetched, dialect)
    if not any(f.url for f in fetched):
        notes.insert(0, f"base_url: {base_url} is a placeholder (the sample was a file); set the vendor's address")
    given = credentials or {}
    refs = {role: given.get(role, f"env:{env_name(name, role)}") for role in CREDENTIALS[dialect]}
    if dialect != "rest":
        notes += [f"credentials.{role}: {ref} is a name chosen here; export it (or point it at your secret store)"
                  for role, ref in refs.items() if role not in given]
    spec = {
        "name": name,
        "dialect": dialect,
        "base_url": base_url,
        "credentials": refs,
        "streams": streams,
        "mapping": mapping_ref,
        "schedule": "15 2 * * *",
        "region": region,
        "owner": "platform-data@tourlink",
        "tags": ["erp"],
        "options": options,
    }
    if not streams:
        del spec["streams"]
    head = [f"# {name}: scaffolded by `tourlink connector new` from {', '.join(f.filename for f in fetched)}.",
            "# Credentials are references to environment variables (or airflow:conn_id), never values."]
    head += [f"# REVIEW {note}" for note in notes]
    if region is None:
        head.append("# REVIEW region: the owning province's division code (e.g. \"440000\")")
    return "\n".join(head) + "\n" + yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, width=120)


def test_text(name: str, dialect: str) -> str:
    """The source's test, runnable from wherever `--out` put it (no fixture of the repository's conftest):
    the recorded sample maps with every required field and no mapping problem; a source tagged
    `sandbox` (served by the project's emulator of its dialect) also passes the conformance kit.
    A vendor of its own is checked against its own recorded responses, never another emulator."""
    ident = re.sub(r"\W", "_", name)
    kit = ""
    if dialect in ("signed-json", "oauth-cursor", "legacy-xml", "rest"):
        kit = f'''

if "sandbox" in SOURCE.tags:  # served by the project's emulator of its dialect: the conformance kit too

    @pytest.fixture
    def tourlink_home(tmp_path, monkeypatch):
        monkeypatch.setenv("TOURLINK_HOME", str(tmp_path / "tourlink-home"))
        monkeypatch.delenv("TOURLINK_WAREHOUSE_URL", raising=False)
        return tmp_path / "tourlink-home"

    @pytest.fixture
    def {ident}_sandbox():
        with sandboxed(SOURCE) as box:
            yield box

    test_{ident}_conforms = conformance_test("{ident}_sandbox")
'''
    return f'''"""Conformance of source `{name}` (scaffolded by `tourlink connector new`).

The recorded responses in samples/{name}/ must map with every required canonical field and without a
mapping problem (the vendor's own bad records are a steward's work, not the mapping's); a source
tagged `sandbox` also passes the conformance kit against its sandbox. Runs from this folder or the
repository alike: `pytest tests/connectors/test_{name}_conformance.py`."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.registry import get_source
from devkit.conformance import conformance_test
from devkit.onboarding.check import readiness, sandboxed

ROOT = Path(__file__).resolve().parents[2]
SOURCE = get_source("{name}", ROOT / "connectors" / "sources")


def test_{ident}_recorded_responses_map_every_required_field_without_a_mapping_problem() -> None:
    report = readiness("{name}", root=ROOT, conformance=False, live=False)
    assert report.missing == [], report.missing
    assert report.findings.mapping == [], [f.label for f in report.findings.mapping]
    assert sum(report.rows.values()) > 0
''' + kit


def scaffold(
    name: str,
    dialect: str,
    samples: list[str],
    *,
    out: Path | str | None = None,
    headers: dict[str, str] | None = None,
    mapping_name: str | None = None,
    region: str | None = None,
    force: bool = False,
    credentials: dict[str, str] | None = None,
) -> Scaffold:
    """Write the registry file, the suggested mapping, the samples and the conformance test under `out`.

    `credentials` (role -> `env:VAR` reference) sign URL samples the way the dialect's reader signs
    its requests, so a signing vendor answers data; the references (never values) go in the registry."""
    if not _NAME.match(name):
        raise ScaffoldError(f"source name {name!r}: use lower-case letters, digits and _ (e.g. acme_tours)")
    if dialect not in DIALECTS:
        raise ScaffoldError(f"dialect {dialect!r}: one of {', '.join(DIALECTS)}")
    if not samples:
        raise ScaffoldError("give at least one --sample (a response body, an export file or a URL)")
    root = Path(out).resolve() if out else REPO
    mapping_name = mapping_name or name
    paths = {
        "registry": root / "connectors" / "sources" / f"{name}.yaml",
        "mapping": root / "mappings" / "sources" / f"{mapping_name}.yaml",
        "test": root / "tests" / "connectors" / f"test_{name}_conformance.py",
    }
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing and not force:
        raise ScaffoldError(f"already exists: {', '.join(existing)} (use --force to overwrite)")
    urls = [s for s in samples if s.startswith(("http://", "https://"))]
    try:
        refs = credential_refs(dialect, credentials or {}, CREDENTIALS[dialect])
        signer = Signer.for_source(name, dialect, urls[0], refs) if refs and urls else None
    except CredentialError as exc:
        raise ScaffoldError(str(exc)) from None
    fetched = [_fetch(s, headers or {}, signer) for s in samples]
    suggestion = suggest([f.sample for f in fetched], mapping_name)
    mapping_ref = mapping_name if root == REPO else str(paths["mapping"])
    sample_dir = root / "tests" / "connectors" / "samples" / name
    if sample_dir.exists():
        shutil.rmtree(sample_dir)
    sample_dir.mkdir(parents=True)
    written = []
    for f in fetched:
        target = sample_dir / f.filename
        target.write_bytes(f.body)
        written.append(target)
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    paths["registry"].write_text(registry_text(name, dialect, fetched, suggestion, mapping_ref, region, refs), encoding="utf-8")
    paths["mapping"].write_text(suggestion.to_yaml(f"{name} ({dialect})", source=name), encoding="utf-8")
    paths["test"].write_text(test_text(name, dialect), encoding="utf-8")
    return Scaffold(name, paths["registry"], paths["mapping"], paths["test"], written, suggestion)
