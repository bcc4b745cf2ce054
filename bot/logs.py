"""Log records that cannot leak: phone numbers, tokens and message texts are masked as each record is made.

A record factory (not a handler filter) so that every record of every logger — ours, aiogram's, aiohttp's,
SQLAlchemy's, and the ones tests capture — is redacted once, before any handler formats it. Tracebacks are
formatted and redacted here too: exception messages are where database parameters and request URLs hide.
"""

from __future__ import annotations

import json
import logging
import re
import time
import traceback
from collections.abc import Callable
from typing import Any

MASK = "[redacted]"

# Order matters: whole payloads first, then what may remain inside other text.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # SQLAlchemy appends the statement's bound values (texts, phone numbers) to its errors.
    (re.compile(r"\[parameters: .*?\](?=\n|$|\s*\(Background)", re.DOTALL), f"[parameters: {MASK}]"),
    # Message texts in query strings, form bodies and JSON/Python reprs: text=…, Body=…, 'text': '…'
    (re.compile(r"""(?i)\b(text|body|caption)=(['"])(?:\\.|(?!\2).)*\2"""), rf"\1='{MASK}'"),
    (re.compile(r"(?i)\b(text|body|caption)=[^&\s]*"), rf"\1={MASK}"),
    (re.compile(r"(?i)\b(text|body|caption): (?!['\"])[^\n]*"), rf"\1: {MASK}"),  # "Body: …" to the end of the line
    (re.compile(r"""(?i)(['"](?:text|body|caption)['"]\s*:\s*)(['"])(?:\\.|(?!\2).)*\2"""), rf"\1'{MASK}'"),
    # Credentials: bearer tokens and JWTs, token=/secret=/password= values, passwords inside URLs.
    (re.compile(r"(?i)\b(bearer)\s+[\w.~+/=-]+"), rf"\1 {MASK}"),
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+"), MASK),
    (
        re.compile(
            r"(?i)\b([\w-]*(?:token|secret|password|passwd|api_key|apikey))(['\"]?\s*[=:]\s*['\"]?)[^\s&'\",)]+"
        ),
        rf"\1\2{MASK}",
    ),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@"), rf"\1{MASK}@"),
    # A Telegram bot token, in Bot API URLs (/bot<id>:<secret>/method) or alone.
    (re.compile(r"(?<=/bot)\d+:[^/\s]+"), MASK),
    (re.compile(r"\d{5,}:[\w-]{30,}"), MASK),
    # Phone numbers: +7 701 123 45 67, whatsapp:+77011234567, 87011234567, (701) 123-45-67.
    (re.compile(r"\+\d[\d\s().-]{6,}\d"), MASK),
    (re.compile(r"(?<![\w.])\(?\d{3,4}\)?[\s-]\d{3}[\s-]\d{2}[\s-]?\d{2}(?![\w.])"), MASK),
    (re.compile(r"(?<![\w.:])\d{10,15}(?![\w.])"), MASK),
)


def redact(text: str) -> str:
    """The text with every phone number, credential and message payload masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not hide the record; keep its template only
        message = str(record.msg)
    record.msg, record.args = redact(message), ()
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        record.exc_info = None  # a handler must not format the raw exception again
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


# Libraries that log every statement with its bound values at DEBUG (aiosqlite: "executing … ('text', …)").
CHATTY_LOGGERS = ("aiosqlite",)

_installed: Callable[..., logging.LogRecord] | None = None


def install_redaction() -> None:
    """Redact every log record made from now on in this process (idempotent)."""
    global _installed
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if _installed is not None:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = previous


def uninstall_redaction() -> None:
    """Restore the record factory found at install (tests)."""
    global _installed
    if _installed is not None:
        logging.setLogRecordFactory(_installed)
        _installed = None


class JsonFormatter(logging.Formatter):
    """One JSON object per line for log collectors; the record was redacted when it was made (above)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def log_formatter(kind: str) -> logging.Formatter:
    """`text` (the default, for people) or `json` (PANA_LOG_FORMAT=json, for collectors)."""
    if kind == "json":
        formatter = JsonFormatter()
        formatter.converter = time.gmtime
        return formatter
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
