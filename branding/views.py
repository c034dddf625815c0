"""The brand as a stylesheet, and the favicon browsers ask for at the site's root."""

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from branding.brand import brand_css, brand_css_version


@require_GET
def brand_stylesheet(request: HttpRequest) -> HttpResponse:
    """Serve the brand's custom properties; cached for long when asked for by its version."""
    response = HttpResponse(brand_css(), content_type="text/css; charset=utf-8")
    versioned = request.GET.get("v") == brand_css_version()
    response["Cache-Control"] = (
        "public, max-age=31536000, immutable" if versioned else "public, max-age=300"
    )
    # The appeal loads it into a shadow root on the publisher's pages.
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Send browsers that ask for /favicon.ico to the brand's icon."""
    return HttpResponsePermanentRedirect(static("brand/favicon.svg"))
