"""URLs readers give us: the one place they are checked.

The article a reader was on, the page they came from, where to send them back: each reaches us
from a query string, a form field or a header, is stored, and is later rendered as a link on
our own origin (the same origin as the admin and the supporters' account pages). A link to
`javascript:` there runs script as us. So a reader URL is kept only when it is a plain absolute
`http` or `https` URL with a host, checked when it is received (`reader_url_clean`) and again
when it is rendered (the `reader_url` template filter in `antiabuse.templatetags.antiabuse`),
which also covers rows stored before the check existed.

Anything else becomes "": these values are attribution, never worth an error page for a reader
who cannot see or fix them.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlsplit

from django import forms

MAX_LENGTH = 2000
SCHEMES = ("http", "https")
# Characters a browser strips or ignores inside a URL (so "java\tscript:" is "javascript:"),
# or that make a link say one thing and go elsewhere (bidi overrides, zero-width characters).
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"}


def _has_invisible(text: str) -> bool:
    return any(unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in text)


def reader_url_clean(value: object, *, max_length: int = MAX_LENGTH) -> str:
    """Return `value` if it is a safe absolute http(s) URL a reader may give us, else "".

    Refused: other schemes (`javascript:`, `data:`, `vbscript:`, ...), scheme-relative and
    relative URLs, backslashes (browsers read them as slashes), control, space and invisible
    characters anywhere (browsers drop some of them, so a check that saw them would be fooled),
    user names and passwords in the URL (`https://ours@evil`), bad ports, and URLs longer than
    `max_length` (cut short, a URL means something else).
    """
    if not isinstance(value, str) or not value or len(value) > max_length:
        return ""
    if "\\" in value or _has_invisible(value):
        return ""
    scheme, _, rest = value.partition(":")
    if scheme.lower() not in SCHEMES or not rest.startswith("//"):
        return ""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return ""
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return ""
    return value


class ReaderUrlField(forms.CharField):
    """A form field for a reader URL: a safe http(s) URL, or "" (never a form error)."""

    def __init__(self, *, max_length: int = MAX_LENGTH, **kwargs: Any) -> None:
        self.url_max_length = max_length
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.HiddenInput)
        super().__init__(strip=False, **kwargs)

    def to_python(self, value: Any) -> str:
        # Before the validators run, so a NUL or an overlong value is dropped, not an error.
        return reader_url_clean(value, max_length=self.url_max_length)
