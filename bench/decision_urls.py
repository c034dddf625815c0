"""The project's URLs plus the decision benchmark's baselines: `/bench/bare/` answers the JSON in
BENCH_BARE_JSON (GET) or a 204 (POST) without any work, through Django's whole middleware stack;
`/bench/bare-short/` does the same through the short path of `ShortPathBareMiddleware`."""

import os
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as project_urlpatterns

_BODY = os.environ.get("BENCH_BARE_JSON", '{"appeals":{}}').encode()


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return HttpResponse(status=204)
    return HttpResponse(_BODY, content_type="application/json")


class ShortPathBareMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != "/bench/bare-short/":
            return self.get_response(request)
        request.get_host()
        return bare(request)


urlpatterns = [path("bench/bare/", bare), *project_urlpatterns]
