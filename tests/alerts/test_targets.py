"""Alerts reach a real SMTP server and a real webhook on loopback, masked; a dead target is skipped."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

from tests.alerts.receivers import smtp, webhook
from tourlink.alerts import Alert, send

ID_NUMBER = "21010219900101123X"


def test_an_alert_goes_to_the_webhook_and_by_mail_with_identity_numbers_masked(monkeypatch, free_tcp_port):
    with webhook() as (url, posted), smtp(free_tcp_port) as mails:
        monkeypatch.setenv("TOURLINK_ALERT_WEBHOOK", url)
        monkeypatch.setenv("TOURLINK_ALERT_SMTP", f"127.0.0.1:{free_tcp_port}")
        monkeypatch.setenv("TOURLINK_ALERT_MAIL_TO", "ops@example.org")
        sent = send(Alert("[tourlink] 同步失败", f"第3行 证件号码 {ID_NUMBER} 无法解析", {"kind": "task_failed"}))
    assert sent == ["webhook", "smtp"]
    assert posted[0]["subject"] == "[tourlink] 同步失败" and posted[0]["detail"] == {"kind": "task_failed"}
    assert ID_NUMBER not in posted[0]["text"] and "2101**********123X" in posted[0]["text"]
    mail = message_from_bytes(mails[0].content, policy=default)
    assert mails[0].rcpt_tos == ["ops@example.org"] and mail["Subject"] == "[tourlink] 同步失败"
    assert "2101**********123X" in mail.get_content() and ID_NUMBER not in mail.get_content()


def test_an_unreachable_target_is_skipped_without_raising(monkeypatch, free_tcp_port):
    monkeypatch.setenv("TOURLINK_ALERT_WEBHOOK", f"http://127.0.0.1:{free_tcp_port}/nobody")
    monkeypatch.delenv("TOURLINK_ALERT_SMTP", raising=False)
    assert send(Alert("x", "y")) == []
