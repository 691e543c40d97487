"""The PII log filter is installed by the CLI, `tourlink web` (uvicorn's own loggers) and every DAG module."""

from __future__ import annotations

import io
import logging

from typer.testing import CliRunner

from tourlink.cli import app
from tourlink.log_masking import install_masking_everywhere
from tourlink.masking import MaskingFilter

ID_NUMBER = "21010219900101123X"


def _stream_on(name: str | None, monkeypatch) -> io.StringIO:
    stream = io.StringIO()
    logger = logging.getLogger(name)
    handler = logging.StreamHandler(stream)
    monkeypatch.setattr(logger, "handlers", [handler])
    monkeypatch.setattr(logger, "filters", [])
    return stream


def test_records_of_the_root_and_of_uvicorns_own_loggers_are_masked_once(monkeypatch):
    root, access = _stream_on(None, monkeypatch), _stream_on("uvicorn.access", monkeypatch)
    monkeypatch.setattr(logging.getLogger("uvicorn.access"), "propagate", False)
    install_masking_everywhere()
    install_masking_everywhere()
    logging.getLogger().warning("证件号码 %s 校验失败", ID_NUMBER)
    logging.getLogger("uvicorn.access").warning("GET /x?doc=%s", ID_NUMBER)
    assert ID_NUMBER not in root.getvalue() and "2101**********123X" in root.getvalue()
    assert ID_NUMBER not in access.getvalue() and "2101**********123X" in access.getvalue()
    handler = logging.getLogger().handlers[0]
    assert sum(isinstance(f, MaskingFilter) for f in handler.filters) == 1


def test_every_cli_command_runs_with_the_filter(monkeypatch, tourlink_home):
    _stream_on(None, monkeypatch)
    assert CliRunner().invoke(app, ["audit", "--json"]).exit_code == 0
    assert any(isinstance(f, MaskingFilter) for f in logging.getLogger().handlers[0].filters)


def test_each_dag_module_installs_the_filter_at_parse_time(monkeypatch):
    """Every DAG module imports `tourlink.airflow_dags`, whose import installs the filter."""
    import importlib
    import re
    from pathlib import Path

    import tourlink.airflow_dags

    for path in sorted((Path(__file__).resolve().parents[2] / "dags").glob("*.py")):
        assert re.search(r"^from tourlink import .*\bairflow_dags\b", path.read_text(encoding="utf-8"), re.M), path.name
    _stream_on(None, monkeypatch)
    importlib.reload(tourlink.airflow_dags)
    assert any(isinstance(f, MaskingFilter) for f in logging.getLogger().handlers[0].filters)
