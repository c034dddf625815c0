"""The embed script, the decision endpoint and the beacon intake.

Both endpoints are called cross-origin from the publisher's pages; `_cors` allows exactly the
origins in PUBLISHER_ORIGINS (and our own). Neither uses cookies, so neither needs CSRF protection.
"""

import json
from datetime import UTC, datetime
from functools import cache
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from antiabuse import client_ip
from antiabuse.origin import csrf_exempt_guarded, origin_allowed
from antiabuse.ratelimit import LocalRateLimit
from branding.brand import brand_css
from campaigns import events
from campaigns.compiled import registry
from campaigns.decision import (
    MAX_QUERY_LENGTH,
    PLACEMENTS,
    BadRequest,
    decide,
    page_parse,
    reader_parse,
)
from campaigns.models import EventKind
from campaigns.services import preview_decide

MAX_EVENT_BODY = 2048
MAX_PARAMETERS = 40
MAX_EVENTS_PER_BEACON = 10
EVENT_KINDS = frozenset(EventKind.values)
# Beacons per reader address and minute, per web process (a cache round trip per beacon would
# cost more than counting it).
BEACON_LIMIT = LocalRateLimit(window_seconds=60)
EMBED_PATH = settings.BASE_DIR / "static" / "campaigns" / "embed.js"


def _json(data: object, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(data, separators=(",", ":")), status=status, content_type="application/json"
    )


def _error(message: str, status: int = 400) -> HttpResponse:
    response = _json({"error": message}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _cors(request: HttpRequest, response: HttpResponse, methods: str) -> HttpResponse:
    """Let the publisher's pages (and only them) read the answer."""
    origin = request.META.get("HTTP_ORIGIN")
    if origin and origin_allowed(request, origin):
        response["Access-Control-Allow-Origin"] = origin
        if request.method == "OPTIONS":
            response["Access-Control-Allow-Methods"] = methods
            response["Access-Control-Allow-Headers"] = "Content-Type"
            response["Access-Control-Max-Age"] = "86400"
    response["Vary"] = "Origin"
    return response


def _preflight(request: HttpRequest, methods: str) -> HttpResponse:
    return _cors(request, HttpResponse(status=204), methods)


def _not_allowed(request: HttpRequest, methods: str) -> HttpResponse:
    response = _error(f"Method {request.method} is not allowed here; use {methods}.", status=405)
    response["Allow"] = methods
    return response


def _query(request: HttpRequest) -> dict[str, str]:
    """Return the query parameters (the last value of each), without building a QueryDict."""
    query = request.META.get("QUERY_STRING", "")
    params: dict[str, str] = {}
    if not query:
        return params
    parts = query.split("&")
    if len(parts) > MAX_PARAMETERS:
        raise BadRequest("Too many parameters.")
    for part in parts:
        key, _, value = part.partition("=")
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if key:
            params[key] = value
    return params


EMBED_BRAND_LINE = b'  var BRAND_CSS = "";\n'


def _embed_branded() -> bytes:
    """Return the embed script with the publisher's brand in its stylesheet (see embed.js)."""
    source = EMBED_PATH.read_bytes()
    # A JSON string is a JavaScript string: quotes in a font stack cannot end it.
    brand = f"  var BRAND_CSS = {json.dumps(brand_css())};\n".encode()
    return source.replace(EMBED_BRAND_LINE, brand, 1)


_embed_source = cache(_embed_branded)


def embed_js(request: HttpRequest) -> HttpResponse:
    """Serve the embed script; CDNs and browsers may keep it for a few minutes."""
    if request.method not in ("GET", "HEAD"):
        return _not_allowed(request, "GET")
    source = _embed_source() if not settings.DEBUG else _embed_branded()
    response = HttpResponse(source, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300, stale-while-revalidate=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@csrf_exempt_guarded
def decision(request: HttpRequest) -> HttpResponse:
    """Answer which appeal to show in each placement of the page, for this reader."""
    methods = "GET, OPTIONS"
    if request.method == "OPTIONS":
        return _preflight(request, methods)
    if request.method not in ("GET", "HEAD"):
        return _cors(request, _not_allowed(request, methods), methods)
    if len(request.META.get("QUERY_STRING", "")) > MAX_QUERY_LENGTH:
        return _cors(request, _error("The request is too long.", status=414), methods)
    try:
        params = _query(request)
        page = page_parse(params, country=request.META.get(settings.COUNTRY_HEADER, ""))
        preview = params.get("preview")
        if preview:
            appeals = preview_decide(token=preview, placements=page.placements)
            if appeals is None:
                raise BadRequest("This preview link is invalid or has expired.")
            response = _json({"appeals": appeals})
            response["Cache-Control"] = "no-store"
            return _cors(request, response, methods)
        reader = reader_parse(params)
    except BadRequest as error:
        return _cors(request, _error(str(error)), methods)
    result = decide(registry.current(), page, reader)
    response = HttpResponse(
        result.to_json(),
        content_type="application/json",
        headers={
            # Nothing depends on the reader? Then any cache may share the answer for a while.
            "Cache-Control": f"public, max-age={settings.CAMPAIGN_SHARED_CACHE_SECONDS}"
            if result.shareable
            else "private, no-store",
            "Vary": _decision_vary(settings.COUNTRY_HEADER),
        },
    )
    origin = request.META.get("HTTP_ORIGIN")
    if origin and origin_allowed(request, origin):
        response["Access-Control-Allow-Origin"] = origin
    return response


@cache
def _decision_vary(country_header: str) -> str:
    """Return the Vary header of decisions: the origin, and the country when a header gives it."""
    if country_header.startswith("HTTP_"):
        return "Origin, " + country_header[5:].replace("_", "-").title()
    return "Origin"


class CampaignsUnavailable(Exception):
    """No compiled campaigns to check a beacon against (see `Registry.current`)."""


def _event_bucket(item: object) -> events.Bucket:
    if not isinstance(item, dict):
        raise BadRequest("Each event must be an object.")
    kind, slug = item.get("event"), item.get("campaign")
    variant, placement = item.get("variant"), item.get("placement")
    if kind not in EVENT_KINDS:
        raise BadRequest("event: use view, click or dismiss.")
    if placement not in PLACEMENTS:
        raise BadRequest("placement: use banner, epic or survey.")
    compiled = registry.current()
    if compiled is None:
        raise CampaignsUnavailable
    campaign = compiled.by_slug.get(slug) if isinstance(slug, str) else None
    if campaign is None:
        raise BadRequest("campaign: no running campaign has this name.")
    if variant not in campaign.variant_keys:
        raise BadRequest("variant: this campaign has no such variant.")
    return (campaign.id, str(variant), str(placement), str(kind), datetime.now(UTC).date())


@csrf_exempt_guarded
def event_intake(request: HttpRequest) -> HttpResponse:
    """Count impression, click and dismissal beacons (navigator.sendBeacon, text/plain JSON)."""
    methods = "POST, OPTIONS"
    if request.method == "OPTIONS":
        return _preflight(request, methods)
    if request.method != "POST":
        return _cors(request, _not_allowed(request, methods), methods)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = MAX_EVENT_BODY + 1
    if length > MAX_EVENT_BODY:
        return _cors(request, _error("The event is too large.", status=413), methods)
    if len(request.body) > MAX_EVENT_BODY:
        return _cors(request, _error("The event is too large.", status=413), methods)
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return _cors(request, _error("The body must be JSON."), methods)
    items = data if isinstance(data, list) else [data]
    try:
        if not 1 <= len(items) <= MAX_EVENTS_PER_BEACON:
            raise BadRequest(f"Send 1 to {MAX_EVENTS_PER_BEACON} events at a time.")
        buckets = [_event_bucket(item) for item in items]
    except BadRequest as error:
        return _cors(request, _error(str(error)), methods)
    except CampaignsUnavailable:
        # The campaigns could not be read (database down as the process started): the beacon
        # may be valid, so it is not refused as if it were wrong.
        response = _error("Events cannot be counted right now.", status=503)
        response["Retry-After"] = "5"
        return _cors(request, response, methods)
    limit = settings.CAMPAIGN_BEACON_LIMIT_PER_MINUTE
    if not BEACON_LIMIT.allow(client_ip(request), limit=limit, cost=len(buckets)):
        response = _error("Too many events from this address; they were not counted.", status=429)
        response["Retry-After"] = "60"
        return _cors(request, response, methods)
    for bucket in buckets:
        events.event_record(bucket=bucket)
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    return _cors(request, response, methods)
