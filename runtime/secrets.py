"""Keep secrets out of everything a person or a log collector can read.

Values are registered once (where a node reads an API key or a password) and
every log record, debug line and error text passes through `scrub`. Tracking
values rather than key names means a secret is caught even when a library
echoes it back inside an unrelated message.
"""

from __future__ import annotations

import logging

_MASK = "***"
_secrets: set[str] = set()


def redact(value: str | None) -> None:
    """Register `value` as a secret from now on (short values are ignored: they would mask ordinary text)."""
    if value and len(value) >= 4:
        _secrets.add(value)


def scrub(text: str) -> str:
    """Return `text` with every registered secret replaced by a mask."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, _MASK)
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in the final text of every record, arguments included."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            cleaned = scrub(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True
