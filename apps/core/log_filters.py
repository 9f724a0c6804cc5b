"""Log filters: no personal data or secrets leave the process in a log line."""

from __future__ import annotations

import logging
import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
SECRET_PAIR = re.compile(r"(?i)\b(password|passwd|secret|token|authorization|api[_-]?key)(\s*[=:]\s*)(\S+)")


def redact(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    return SECRET_PAIR.sub(r"\1\2[redacted]", text)


class RedactPersonalData(logging.Filter):
    """Mask e-mail addresses and secret-looking values in the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        record.msg = redact(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
