"""Where alerts go: a webhook (JSON POST) and/or SMTP, from the environment.

- `TOURLINK_ALERT_WEBHOOK`: URL receiving `{"subject", "text", "detail"}` as JSON;
- `TOURLINK_ALERT_SMTP` (`host:port`), `TOURLINK_ALERT_MAIL_TO` (comma list), `TOURLINK_ALERT_MAIL_FROM`.

Alert text is masked (`tourlink.masking.mask_text`): an exception quoting a row never mails an ID number.
A target that cannot be reached is logged and skipped, never fails the task that raised the alert.
"""

from __future__ import annotations

import logging
import os
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from tourlink.masking import mask_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str
    detail: dict[str, Any] = field(default_factory=dict)

    def masked(self) -> Alert:
        return Alert(mask_text(self.subject) or "", mask_text(self.text) or "", self.detail)


def _webhook(alert: Alert, url: str) -> None:
    import httpx

    httpx.post(url, json={"subject": alert.subject, "text": alert.text, "detail": alert.detail}, timeout=10).raise_for_status()


def _mail(alert: Alert, server: str, to: str, sender: str) -> None:
    host, _, port = server.rpartition(":")
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = alert.subject, sender, to
    message.set_content(alert.text)
    with smtplib.SMTP(host or server, int(port or 25), timeout=10) as smtp:
        smtp.send_message(message)


def send(alert: Alert) -> list[str]:
    """Send to every configured target; returns the kinds that accepted it (`webhook`, `smtp`)."""
    alert, sent = alert.masked(), []
    url, server = os.environ.get("TOURLINK_ALERT_WEBHOOK"), os.environ.get("TOURLINK_ALERT_SMTP")
    if url:
        try:
            _webhook(alert, url)
            sent.append("webhook")
        except Exception as exc:  # noqa: BLE001 - an unreachable target must not fail the task
            log.warning("alert webhook %s failed: %s", url, exc.__class__.__name__)
    if server:
        try:
            _mail(alert, server, os.environ.get("TOURLINK_ALERT_MAIL_TO", "root@localhost"),
                  os.environ.get("TOURLINK_ALERT_MAIL_FROM", "tourlink@localhost"))
            sent.append("smtp")
        except Exception as exc:  # noqa: BLE001
            log.warning("alert mail via %s failed: %s", server, exc.__class__.__name__)
    return sent
