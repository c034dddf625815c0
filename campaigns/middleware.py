"""A short path through Django for the two endpoints every article page calls.

The decision endpoint and the beacon intake use no session, user, messages, CSRF token or frame
options, so this middleware, placed right after SecurityMiddleware, answers them before those
layers run (SecurityMiddleware still redirects to HTTPS and adds its headers). That is most of
Django's own per-request work on the busiest path the service has.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from campaigns import views


class EmbedEndpointsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._routes: dict[str, Callable[[HttpRequest], HttpResponse]] | None = None

    def _paths(self) -> dict[str, Callable[[HttpRequest], HttpResponse]]:
        if self._routes is None:
            self._routes = {
                reverse("campaigns:decision"): views.decision,
                reverse("campaigns:events"): views.event_intake,
            }
        return self._routes

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = self._paths().get(request.path_info)
        if view is None:
            return self.get_response(request)
        request.get_host()  # the ALLOWED_HOSTS check CommonMiddleware would have made
        return view(request)
