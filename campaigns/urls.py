from django.urls import URLPattern, URLResolver, path

from campaigns import views

app_name = "campaigns"

# The two endpoints every article page calls come first: they are resolved on every request.
urlpatterns: list[URLPattern | URLResolver] = [
    path("api/decision/", views.decision, name="decision"),
    path("api/events/", views.event_intake, name="events"),
    path("embed.js", views.embed_js, name="embed-js"),
]
