"""The peer's own virtualenv (bench/.venv-dlt, created on first use: `dlt[postgres]`, pyarrow, telemetry
off) and the way the bench runs a dlt script in it: one child process per load, one JSON line back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DLT_VENV = BENCH / ".venv-dlt"
DLT_REQUIREMENT = "dlt[postgres]==1.31.0"


def ensure_dlt() -> Path | None:
    """The dlt venv's python (created when missing), or None when it cannot be installed."""
    python = DLT_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {DLT_VENV} with {DLT_REQUIREMENT} …", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(DLT_VENV)], check=True)
        uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
        if Path(uv).exists():
            cmd = [
                uv,
                "pip",
                "install",
                "-q",
                "--compile-bytecode",
                "--python",
                str(python),
                DLT_REQUIREMENT,
                "pyarrow",
            ]
        else:
            cmd = [str(python), "-m", "pip", "install", "-q", DLT_REQUIREMENT, "pyarrow"]
        if subprocess.run(cmd).returncode != 0:
            return None
    return python


def run_dlt(python: Path, script: str, args: list[str], work: Path, env: dict[str, str] | None = None) -> dict:
    """`script` (a file of bench/) under the dlt venv's python; its last stdout line, parsed, or {"error"}."""
    full_env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", "BENCH_DLT_DIR": str(work / "dlt"), **(env or {})}
    proc = subprocess.run([str(python), str(BENCH / script), *args], capture_output=True, text=True, env=full_env)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])
