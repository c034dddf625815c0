"""The sample article page that embeds the appeal as a publisher's page would."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from config.security_headers import csp_frame_ancestors


@xframe_options_sameorigin
def demo_article(request: HttpRequest) -> HttpResponse:
    """Serve the sample article; with a preview token it may be framed by our own admin (the
    preview beside a campaign's form), by nobody else."""
    response = render(request, "demo/article.html")
    if "rs_preview" in request.GET:
        return csp_frame_ancestors(response, ["'self'"])
    response["X-Frame-Options"] = "DENY"
    return response
