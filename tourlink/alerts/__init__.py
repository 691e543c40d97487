"""Alerts (issue 20 item 4): a failed task or an empty sync reaches a person, by webhook or e-mail.

Targets come from configuration (`tourlink.alerts.targets`); the Airflow callbacks
(`tourlink.alerts.callbacks`) are set in every DAG's `default_args`.
"""

from tourlink.alerts.targets import Alert, send

__all__ = ["Alert", "send"]
