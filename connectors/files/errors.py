"""The one way a reader refuses a file: a message for the agency (Chinese) and one for the log."""

from __future__ import annotations


class UnreadableFile(Exception):
    """The file cannot be read at all: the SFTP drop rejects it with `reason_zh` for the agency."""

    def __init__(self, file: str, reason_zh: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason_zh = reason_zh
        self.reason = reason
