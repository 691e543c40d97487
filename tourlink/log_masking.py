"""Install the PII log filter (`tourlink.masking.MaskingFilter`) wherever tourlink runs: one call each.

The CLI calls `install_masking_everywhere()` at start, `tourlink web` again once uvicorn has set up
its loggers, and every Airflow task process through `tourlink.airflow_policy` (a DAG-module setup
call). Loggers that do not propagate to the root (uvicorn's, Airflow's task logger) have their own
handlers, so the filter goes on those handlers too.
"""

from __future__ import annotations

import logging

from tourlink.masking import MaskingFilter, install_log_masking

# Loggers with handlers of their own that may carry values tourlink or its libraries log.
OWN_HANDLERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "airflow.task", "airflow.processor")


def install_masking_everywhere() -> list[logging.Logger]:
    """Mask ID numbers and mobiles in every record the root and the known non-propagating loggers emit;
    idempotent (a second call adds no second filter). Returns the loggers covered."""
    covered = []
    for name in (None, *OWN_HANDLERS):
        logger = logging.getLogger(name)
        if name is not None and not logger.handlers:
            continue
        if not any(isinstance(f, MaskingFilter) for f in logger.filters):
            install_log_masking(logger)
        else:
            for handler in logger.handlers:
                if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                    handler.addFilter(next(f for f in logger.filters if isinstance(f, MaskingFilter)))
        covered.append(logger)
    return covered
