"""docs/onboarding.md cannot rot: its `sh` blocks run, in order, as one shell script, in a scratch
folder and TOURLINK_HOME, against the JSON:API sandbox this test starts on a free port (substituted for
the guide's 18086). The guide's one `diff` block is the review a person makes; it is saved as
`review.diff`, which the guide applies with `patch`. The `tourlink sandbox up` line is the test's job."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "onboarding.md"
GUIDE_PORT = "18086"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SECOND = "## Walkthrough 2"  # the signed-json walkthrough: tests/devkit/onboarding/test_second_vendor_walkthrough.py


def blocks(kind: str) -> list[str]:
    first = GUIDE.read_text(encoding="utf-8").split(SECOND)[0]
    return [body for lang, body in FENCE.findall(first) if lang == kind]


def test_the_guide_has_commands_and_one_review_diff() -> None:
    commands = "\n".join(blocks("sh"))
    assert "tourlink connector new" in commands and "tourlink connector check" in commands and "tourlink sync" in commands
    assert len(blocks("diff")) == 1


@pytest.fixture
def jsonapi_sandbox():
    from connectors.registry import load_sources
    from devkit.sandbox import start_for

    box = start_for(load_sources()["sandbox_jsonapi"], port=0, export_env=False)
    try:
        yield box
    finally:
        box.stop()


@pytest.mark.slow
def test_every_command_of_the_onboarding_guide_runs(tmp_path, jsonapi_sandbox) -> None:
    port = jsonapi_sandbox.url.rsplit(":", 1)[1]
    work = tmp_path / "work"
    work.mkdir()
    (work / "review.diff").write_text(blocks("diff")[0].replace(GUIDE_PORT, port), encoding="utf-8")
    script = "\n".join(
        line.replace(GUIDE_PORT, port)
        for block in blocks("sh")
        for line in block.splitlines()
        if not line.strip().startswith("tourlink sandbox up")
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TOURLINK_", "SANDBOX_"))},
        "TOURLINK_HOME": str(tmp_path / "home"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    print(run.stdout[-6000:])
    assert run.returncode == 0, f"stdout:\n{run.stdout[-4000:]}\nstderr:\n{run.stderr[-4000:]}"
    assert "READY" in run.stdout and "conformance kit: passed" in run.stdout
    assert "tour_group: read 40, loaded 40, quarantined 0" in run.stdout, "the sync loads the whole sandbox"


def test_the_walkthroughs_reviewed_mapping_is_the_one_the_repository_ships(tmp_path, jsonapi_sandbox) -> None:
    """What the guide produces after review maps every field as mappings/sources/jsonapi.yaml does."""
    import httpx

    from devkit.onboarding.scaffold import scaffold
    from mappings.engine import load_mapping

    port = jsonapi_sandbox.url.rsplit(":", 1)[1]
    url = f"http://127.0.0.1:{port}/v1/tour-groups?page[size]=20"
    token = jsonapi_sandbox.credentials["token"]
    made = scaffold("sandbox_jsonapi", "rest", [url], out=tmp_path, headers={"Authorization": f"Bearer {token}"}, mapping_name="jsonapi", region="440000")
    review = blocks("diff")[0].replace(GUIDE_PORT, port)
    patched = subprocess.run(["patch", "-p1", "-d", str(tmp_path)], input=review, capture_output=True, text=True)
    assert patched.returncode == 0, patched.stdout + patched.stderr
    walked, shipped = load_mapping(made.mapping), load_mapping("jsonapi")
    assert walked.rules == shipped.rules
    assert httpx.get(url).status_code == 401, "the sandbox insists on its bearer token"
