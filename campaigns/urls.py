from django.urls import URLPattern, URLResolver, path

from campaigns import views

app_name = "campaigns"

urlpatterns: list[URLPattern | URLResolver] = [
    path("embed.js", views.embed_js, name="embed-js"),
    path("api/decision/", views.decision, name="decision"),
    path("api/events/", views.event_intake, name="events"),
]
