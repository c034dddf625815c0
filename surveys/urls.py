from django.urls import URLPattern, URLResolver, path

from config import url_ids  # noqa: F401 - registers the id and token converters
from surveys import views

app_name = "surveys"

urlpatterns: list[URLPattern | URLResolver] = [
    path("surveys/<slug:slug>/", views.survey_page, name="survey"),
    path("surveys/<slug:slug>/thanks/", views.survey_thanks, name="thanks"),
    path("surveys/<slug:slug>/draw/", views.draw_page, name="draw"),
    path("surveys/<slug:slug>/draw/enter/", views.draw_enter, name="draw-enter"),
    path("surveys/<slug:slug>/draw/<int:draw_id>/", views.draw_page, name="draw-detail"),
    path("surveys/<slug:slug>/draw/<int:draw_id>/proof.json", views.draw_proof, name="draw-proof"),
    path(
        "surveys/<slug:slug>/draw/<int:draw_id>/entries.json",
        views.draw_entries,
        name="draw-entries",
    ),
    path("surveys/verify_draw.py", views.draw_verifier, name="draw-verifier"),
    path("surveys/entry/confirm/<token:token>/", views.entry_confirm, name="entry-confirm"),
    path("surveys/prize/claim/<token:token>/", views.claim, name="claim"),
]
