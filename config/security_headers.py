"""Content-Security-Policy and Permissions-Policy on every response, from one place.

The policy allows scripts from our own origin only: no inline script and no `on...=` handler
runs on our pages (a test scans the templates), so injected script elements or handler attributes do
nothing. A view that needs more says so on its response with `csp_extend` (the embedded Stripe
Checkout adds Stripe's script and frames; the pages publishers may frame set `frame-ancestors`),
and this middleware merges that into the site-wide policy. Pages that set no `frame-ancestors`
may not be framed at all, as `X-Frame-Options: DENY` already says.

Django 5.2 has no CSP support of its own (6.0 adds it), and django-csp fixes a view's additions
when the view is decorated, while ours depend on settings read per request (the publishers'
origins); the whole policy is a few lines, so it is written here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"

# Stripe's embedded Checkout: its script, the frames it opens (the form, 3-D Secure, wallets)
# and the calls it makes. From Stripe's integration security guide.
STRIPE_CHECKOUT_SOURCES: dict[str, tuple[str, ...]] = {
    "script-src": ("https://js.stripe.com", "https://*.js.stripe.com"),
    "frame-src": (
        "https://js.stripe.com",
        "https://*.js.stripe.com",
        "https://hooks.stripe.com",
        "https://checkout.stripe.com",
    ),
    "connect-src": ("https://api.stripe.com", "https://checkout.stripe.com"),
    "img-src": ("https://*.stripe.com",),
}

# Browser features no page of ours uses are switched off; `payment` (the Payment Request API
# behind Apple Pay and Google Pay) is delegated to Stripe's Checkout frames only.
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=()",
        "microphone=()",
        "geolocation=()",
        "usb=()",
        "serial=()",
        "bluetooth=()",
        "magnetometer=()",
        "gyroscope=()",
        "accelerometer=()",
        "browsing-topics=()",
        'payment=(self "https://js.stripe.com" "https://checkout.stripe.com")',
    ]
)


def site_policy() -> dict[str, list[str]]:
    """Return the site-wide directives (before any view's additions)."""
    policy: dict[str, list[str]] = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Inline style attributes (the admin's, the charts') are allowed; inline script is not.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        # Two forms are answered by a redirect to Stripe (browsers apply form-action to it): the
        # hosted Checkout fallback and the supporter's "Update payment method" (Billing Portal).
        "form-action": ["'self'", "https://checkout.stripe.com", "https://billing.stripe.com"],
        "frame-ancestors": ["'none'"],
    }
    logo = urlsplit(str(getattr(settings, "BRAND", {}).get("logo", "")))
    if logo.scheme in ("http", "https") and logo.netloc:
        # The publisher's logo may live on its own CDN.
        policy["img-src"].append(f"{logo.scheme}://{logo.netloc}")
    if settings.TURNSTILE_SITE_KEY and settings.TURNSTILE_SECRET_KEY:
        for directive in ("script-src", "frame-src"):
            policy[directive].append("https://challenges.cloudflare.com")
    return policy


def csp_extend(response: HttpResponse, directives: Mapping[str, Iterable[str]]) -> HttpResponse:
    """Add sources to the policy this response will carry (merged by the middleware)."""
    extra: dict[str, list[str]] = getattr(response, "csp_extra", {})
    for directive, sources in directives.items():
        extra.setdefault(directive, []).extend(sources)
    response.csp_extra = extra  # type: ignore[attr-defined]
    return response


def csp_frame_ancestors(response: HttpResponse, origins: Iterable[str]) -> HttpResponse:
    """Let these origins frame the page (in place of the default: nobody)."""
    response.csp_frame_ancestors = list(origins)  # type: ignore[attr-defined]
    return response


def _parse(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def policy_text(response: HttpResponse) -> str:
    """Return the policy for this response: the site's, with the view's additions merged in.

    A header the view set itself (rather than through `csp_extend`) is honoured too: each of its
    directives replaces the site's of the same name.
    """
    policy = site_policy()
    if HEADER in response:
        policy.update(_parse(response[HEADER]))
    for directive, sources in getattr(response, "csp_extra", {}).items():
        policy.setdefault(directive, [])
        policy[directive] += [s for s in sources if s not in policy[directive]]
    ancestors = getattr(response, "csp_frame_ancestors", None)
    if ancestors is not None:
        policy["frame-ancestors"] = ancestors
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())


class SecurityHeadersMiddleware:
    """Add the Content-Security-Policy and Permissions-Policy headers to every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response[HEADER] = policy_text(response)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
