"""The dev kit's commands reach the `tourlink` CLI through the `tourlink.cli` entry points, keeping their
names; the CLI itself never imports the kit (an install without it has none of these commands)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TOURLINK = str(Path(sys.executable).parent / "tourlink")
KIT_COMMANDS = {"demo", "sandbox", "connector"}


def test_the_installed_cli_has_the_kits_commands_under_their_names():
    shown = subprocess.run([TOURLINK, "--help"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=120)
    assert shown.returncode == 0, shown.stderr
    listed = {line.split()[1] for line in shown.stdout.splitlines() if line.startswith("│ ") and len(line.split()) > 1}
    assert KIT_COMMANDS <= listed
    for command, sub in (("sandbox", "up"), ("connector", "new"), ("connector", "check")):
        help_text = subprocess.run([TOURLINK, command, sub, "--help"], capture_output=True, text=True, timeout=120)
        assert help_text.returncode == 0, help_text.stderr


WITHOUT_THE_KIT = """
import importlib.metadata, json, sys
importlib.metadata.entry_points = lambda **selection: []  # an install without the dev kit
from tourlink.cli import app
import typer.main
commands = set(typer.main.get_command(app).commands)
print(json.dumps({"commands": sorted(commands), "devkit": sorted(m for m in sys.modules if m.split(".")[0] == "devkit")}))
"""


def test_without_the_kits_entry_point_the_cli_imports_nothing_of_it():
    run = subprocess.run([sys.executable, "-c", WITHOUT_THE_KIT], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["devkit"] == []
    assert not KIT_COMMANDS & set(seen["commands"])
    assert {"import", "sync", "indicators", "report"} <= set(seen["commands"])
