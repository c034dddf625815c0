"""Log formatting. Logs go to stdout as JSON and must never carry a reader's personal data or a
secret: this module is the one place that decides what is redacted.

Redaction happens in the formatter, on the record as it will be written (the message with its
arguments, every `extra` field, the request, the traceback), so nothing merged in after a filter
ran can slip through. Code should not log personal data at all; this is the safety net for a
library, an exception message or a URL that does.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pythonjsonlogger.json import JsonFormatter

# E-mail addresses, also percent-encoded once or twice as they appear in query strings.
EMAIL_PATTERN = re.compile(r"[\w.+%-]+(?:@|%40|%2540)[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
# Stripe keys and webhook secrets.
SECRET_PATTERN = re.compile(r"\b(?:(?:sk|rk)_(?:live|test)|whsec)_[A-Za-z0-9]+")
# Query parameters that carry a capability (a draft, a preview, a checkout session).
SECRET_QUERY_NAMES = ("draft", "preview", "token", "session_id", "key", "secret", "password")
SECRET_QUERY_PATTERN = re.compile(
    r"([?&;](?:" + "|".join(SECRET_QUERY_NAMES) + r")=)[^&;#\s'\"\\]+", re.IGNORECASE
)


@cache
def _token_path_pattern() -> re.Pattern[str] | None:
    """Return a pattern for the path segments our URLs hold tokens in (sign-in, confirmation
    and claim links, ...): every URL parameter declared with the `token` converter, so a new
    link is redacted without being listed here."""
    from django.urls import URLResolver, get_resolver

    prefixes: set[str] = set()

    def walk(patterns: list[Any]) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
                continue
            route = str(pattern.pattern)
            for match in re.finditer(r"([^/<>]+/)<token:\w+>", route):
                prefixes.add(match.group(1))

    walk(get_resolver().url_patterns)
    if not prefixes:
        return None
    alternatives = "|".join(re.escape(prefix) for prefix in sorted(prefixes))
    return re.compile(r"(/(?:" + alternatives + r"))[^/?#\s'\"\\]+")


def redact(text: str) -> str:
    """Return `text` with e-mail addresses, secrets and link tokens replaced by placeholders."""
    text = EMAIL_PATTERN.sub("[email]", text)
    text = SECRET_PATTERN.sub("[secret]", text)
    text = SECRET_QUERY_PATTERN.sub(r"\1[redacted]", text)
    try:
        token_paths = _token_path_pattern()
    except Exception:  # the URLconf is not loadable (yet): everything else is still redacted
        token_paths = None
    if token_paths is not None:
        text = token_paths.sub(r"\1[token]", text)
    return text


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {redact(str(key)): _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redacted(item) for item in value]
    return redact(str(value))  # an object (the request, a datetime): its text, redacted


class RedactingJsonFormatter(JsonFormatter):
    """JSON lines, with every field redacted after the record is complete."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {
            key: _redacted(value) for key, value in super().process_log_record(log_data).items()
        }
