"""The import contracts of docs/architecture.md hold (import-linter, contracts in pyproject.toml):
dags → CLI and flow → the four stage packages, independent of one another → tourlink core, and no
production module imports the dev kit. Any new import against them fails here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("tourlink", "connectors", "mappings", "validators", "warehouse", "dags", "devkit")
# import-linter's own command (`lint-imports`), run by this interpreter wherever its script lives.
LINT_IMPORTS = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"]


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the packages under `root` (its pyproject.toml's contracts), as a subprocess:
    the import graph is built from `root`, not from the modules this test process has loaded."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [*LINT_IMPORTS, "--no-cache", "--no-logo", "--config", str(root / "pyproject.toml")],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )


def test_the_code_keeps_every_import_contract():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def _copy_of_the_repo(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.csv", "*.xlsx", "*.json", "*.parquet")
    for package in PACKAGES:
        shutil.copytree(REPO / package, target / package, ignore=ignore)
    shutil.copyfile(REPO / "pyproject.toml", target / "pyproject.toml")
    return target


def _add_import(module: Path, line: str) -> None:
    text = module.read_text(encoding="utf-8")
    head, sep, rest = text.partition("from __future__ import annotations\n")
    module.write_text(head + sep + line + "\n" + rest if sep else line + "\n" + text, encoding="utf-8")


def test_a_new_import_against_a_contract_fails(tmp_path):
    root = _copy_of_the_repo(tmp_path / "repo")
    _add_import(root / "validators" / "batch.py", "import warehouse.tables  # a stage importing another")
    _add_import(root / "connectors" / "files" / "__init__.py", "import devkit.demo.spreadsheets  # production importing the kit")
    _add_import(root / "tourlink" / "schema.py", "import tourlink.pipeline  # the core importing the flow")

    result = _lint(root)

    assert result.returncode != 0
    assert "Contracts: 0 kept, 2 broken." in result.stdout, result.stdout[-4000:]
    assert "validators.batch -> warehouse.tables" in result.stdout
    assert "connectors.files -> devkit.demo.spreadsheets" in result.stdout
    assert "tourlink.schema -> tourlink.pipeline" in result.stdout
