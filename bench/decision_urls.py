"""The project's URLs plus `/bench/bare/`: the JSON in BENCH_BARE_JSON (GET) or a 204 (POST),
answered without any work, as the decision benchmark's baseline."""

import os

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


urlpatterns = [path("bench/bare/", bare), *project_urlpatterns]
