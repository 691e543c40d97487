"""Issue 17, done when: a signed-json vendor that is not the project's sandbox is onboarded with YAML only.

The guide's second walkthrough (docs/onboarding.md, "Walkthrough 2") runs as one shell script, in a
scratch folder and TOURLINK_HOME, against `QiantangVendor` (written from SOURCES.md alone, its own
data) on a free port substituted for the guide's 18917: `connector new` (signed sample) → the review
as `sed` edits → `connector check --live` → the source's own test from the `--out` folder →
`tourlink sync`. No Python is written; the warehouse then equals the vendor's ground truth.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.devkit.onboarding.signed_json_vendor import QiantangVendor

REPO = Path(__file__).resolve().parents[3]
GUIDE = REPO / "docs" / "onboarding.md"
GUIDE_PORT = "18917"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def walkthrough_commands() -> list[str]:
    second = GUIDE.read_text(encoding="utf-8").split("## Walkthrough 2", 1)[1]
    return [body for lang, body in FENCE.findall(second) if lang == "sh"]


def test_the_second_walkthrough_goes_new_review_check_live_sync() -> None:
    script = "\n".join(walkthrough_commands())
    steps = ["tourlink connector new qiantang --dialect signed-json", "sed -i", "connector check qiantang --root scratch --live",
             "tests/connectors/test_qiantang_conformance.py", "tourlink sync qiantang"]
    assert [script.index(s) for s in steps] == sorted(script.index(s) for s in steps)
    assert "python" not in script.lower().replace("pytest", ""), "YAML only: no Python written"


@pytest.mark.slow
def test_a_second_signed_json_vendor_onboarded_with_yaml_only_loads_its_ground_truth(tmp_path, monkeypatch) -> None:
    from devkit.conformance import differences, warehouse_rows

    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    with QiantangVendor() as vendor:
        port = vendor.url.rsplit(":", 1)[1]
        script = "\n".join(block.replace(GUIDE_PORT, port) for block in walkthrough_commands())
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TOURLINK_", "QIANTANG_", "PYTEST_"))},
            "TOURLINK_HOME": str(home),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=600)
        out = run.stdout
        assert run.returncode == 0, f"stdout:\n{out[-5000:]}\nstderr:\n{run.stderr[-3000:]}"
        assert vendor.signed_requests >= 2 + 4 + 4 + 2, "new (2 samples), both checks (2 reads × 2 streams), the sync"
    before_review, after_review = out.split("NOT READY", 1)
    assert "mapping problems (fix the mapping)" in before_review and "not ready yet (exit 4)" in out
    ready = after_review.split("READY", 1)[0]
    assert "mapping problems: none" in ready
    assert "tour_group 1, group_member 1, e_contract 1" in ready, "the vendor's bad records, by entity"
    assert "held back with a rejected parent (ORPHAN, counted with the parent's reason): group_staff 1, group_member 4, contract_tourist 3" in ready
    assert re.search(r"\b1 passed\b", out), "the scaffolded test ran from the --out folder"
    assert "tour_group: read 24, loaded 23, quarantined 1" in out and "contract_tourist: read 36, loaded 33, quarantined 3" in out
    registry = (work / "scratch" / "connectors" / "sources" / "qiantang.yaml").read_text(encoding="utf-8")
    assert "env:QIANTANG_SIGN_KEY" in registry and vendor.credentials["sign_key"] not in registry + out + run.stderr

    from tourlink import settings

    monkeypatch.setenv("TOURLINK_HOME", str(home))  # the warehouse the sync wrote (embedded, under TOURLINK_HOME)
    monkeypatch.delenv("TOURLINK_WAREHOUSE_URL", raising=False)
    loaded = warehouse_rows(settings.warehouse_url())
    truth = vendor.data.ground_truth()
    assert {e: len(r) for e, r in loaded.items()} == {e: len(r) for e, r in truth.items()}
    assert differences(loaded, truth) == []
