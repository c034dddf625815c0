"""The guard for every view exempt from Django's CSRF check: cross-site posts are refused.

Some forms cannot rely on the CSRF cookie (inside a publisher's iframe the browser withholds
our SameSite cookies), and some endpoints are posted to by machines (Stripe's webhook) or by the
publisher's pages (beacons). Without the token, what still tells a forged post from a real one
is what the browser says about where the post comes from: the `Origin` header, or, when a
browser sends none, `Sec-Fetch-Site`. A post is accepted from the service itself and from the
configured publisher origins (`PUBLISHER_ORIGINS`, and `CSRF_TRUSTED_ORIGINS`); a request that
carries neither header did not come from a modern browser page and is left to the view's own
checks (signatures, rate limits, the challenge).

`csrf_exempt_guarded` is the only way a view in this project skips the CSRF check; a test walks
the URLconf and fails on any CSRF-exempt view without it.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
REFUSAL = (
    "This form was sent from another site, so we did not accept it. "
    "Please use the form on our own page."
)


def origin_allowed(request: HttpRequest, origin: str) -> bool:
    """Return whether `origin` is the service's own or one configured as the publisher's."""
    if origin in settings.PUBLISHER_ORIGINS or origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    site = urlsplit(settings.SITE_URL)
    if origin == f"{site.scheme}://{site.netloc}":
        return True
    try:
        return origin == f"{request.scheme}://{request.get_host()}"
    except DisallowedHost:  # not one of our host names
        return False


def cross_site_refused(request: HttpRequest) -> bool:
    """Return whether a browser says this unsafe request comes from a site we do not trust."""
    if request.method in SAFE_METHODS:
        return False
    origin = request.headers.get("Origin")
    if origin is not None:
        return not origin_allowed(request, origin)  # "null" (sandboxed, opaque) is refused too
    return request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site"


def csrf_exempt_guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Exempt `view` from the CSRF cookie check and refuse cross-site posts to it instead."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if cross_site_refused(request):
            return HttpResponseForbidden(REFUSAL, content_type="text/plain; charset=utf-8")
        return view(request, *args, **kwargs)

    guarded.origin_guarded = True  # type: ignore[attr-defined]
    return csrf_exempt(guarded)
