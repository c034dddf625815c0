"""What an id or token from a URL looks like, checked before it reaches a query.

PostgreSQL refuses text holding a NUL byte with an error, and Django's `<str:...>` lets anything
but a slash through. Every id or token in a path uses one of these converters, and ids read from
a query string go through `query_id`, so junk is a 404 or an empty value, never a 500.
"""

import re

from django.http import QueryDict
from django.urls import register_converter

# Stripe's ids (`cs_test_...`, `pi_...`) and the demo provider's (`cs_demo_...`).
STRIPE_ID = r"[A-Za-z0-9_]{1,255}"
# Signed tokens (django.core.signing: URL-safe base64 and ':') and secrets.token_urlsafe().
SIGNED_LINK = r"[A-Za-z0-9_:.\-]{1,512}"

_STRIPE_ID = re.compile(STRIPE_ID)
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")


class StripeIdConverter:
    regex = STRIPE_ID

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class TokenConverter:
    regex = SIGNED_LINK

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(StripeIdConverter, "stripe_id")
register_converter(TokenConverter, "token")


def query_stripe_id(query: QueryDict, name: str) -> str:
    """Return the Stripe id in query parameter `name`, or "" when it is missing or malformed."""
    value = query.get(name, "")
    return value if _STRIPE_ID.fullmatch(value) else ""


def slug_or_empty(value: object) -> str:
    """Return `value` if it is a slug (a campaign's or variant's key), else "": a key a reader
    sent is checked before it is looked up."""
    text = value if isinstance(value, str) else ""
    return text if _SLUG.fullmatch(text) else ""
