"""A reader who gave and entered a draw: export, erase, export (issue 11, finding 11). After
erasure nothing in any table holds their address, their name or what they wrote."""

import io
import json
import uuid

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.utils import timezone

from payments.models import Contribution, WebhookEvent
from payments.tests.fixtures import campaign_fixture, events_apply  # noqa: F401 - fixture
from stripe_emulator import Emulator
from stripe_emulator.flows import cards, checkout
from stripe_emulator.scenarios import checkout_session_new
from surveys.models import Answer, Entry
from surveys.tests.factories import draw_create, survey_create

pytestmark = pytest.mark.django_db

FREE_TEXT = "I read it on the bus past Ada's flat at 12 High Street"
OTHER_TEXT = "Gardening with my neighbour Bob"


@pytest.fixture
def client(client):
    client.defaults["REMOTE_ADDR"] = f"10.77.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    return client


def personal_data(action, email):
    out = io.StringIO()
    call_command("personal_data", action, email, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def give(client, email, name, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/support/keep-local-news-open/",
            {"frequency": "one_off", "amount": "1000", "email": email, "name": name, "website": ""},
        )
    contribution = Contribution.objects.get(supporter__email=email)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/support/demo-checkout/{contribution.stripe_checkout_session_id}/",
            {"card_number": "4242424242424242"},
        )
    assert events_apply()


def answer_and_enter(client, email, django_capture_on_commit_callbacks):
    survey = survey_create()
    draw_create(survey=survey)
    draft = "tok-erasure-" + uuid.uuid4().hex[:8]
    first_page = client.post(
        "/surveys/reader-survey/",
        {
            "often": "daily",
            "topics": ["sport", Answer.OTHER],
            "topics__other": OTHER_TEXT,
            "page": "1",
            "draft": draft,
        },
    )
    assert first_page.status_code == 302, first_page.content.decode()
    client.post(
        "/surveys/reader-survey/",
        {"score": "7", "member": "no", "why": FREE_TEXT, "page": "2", "draft": draft},
    )
    with django_capture_on_commit_callbacks():
        response = client.post(
            "/surveys/reader-survey/draw/enter/",
            {
                "email": email,
                "country": "GB",
                "age_confirmed": "on",
                "accept_terms": "on",
                "draft": draft,
            },
        )
    assert response.status_code == 200, response.content.decode()
    assert Entry.objects.get().response is not None


def stripe_event_with_address(email, name):
    """A stored checkout.session.completed as Stripe sends it in production, made by the Stripe
    emulator: `customer_email` and `customer_details` carry the reader (the demo's sessions
    name a customer instead)."""
    contribution = Contribution.objects.get(supporter__email=email)
    stripe = Emulator()
    session = checkout_session_new(stripe, email=email, contribution_id=contribution.pk)
    paid = checkout.session_pay(
        stripe, session_id=session["id"], number=cards.SUCCESS, name=name
    ).events
    [data] = [e for e in paid if e["type"] == "checkout.session.completed"]
    assert data["data"]["object"]["customer_details"]["name"] == name
    WebhookEvent.objects.create(
        stripe_event_id=data["id"],
        type=data["type"],
        livemode=False,
        api_version=data["api_version"],
        created=timezone.now(),
        payload=data,
        status=WebhookEvent.Status.PROCESSED,
    )


def everything_stored():
    """Every text and JSON value in every table, as one lower-cased string."""
    values = []
    for model in apps.get_models():
        fields = [
            field.attname
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField | models.JSONField)
        ]
        if fields:
            for row in model._default_manager.values_list(*fields):
                values.append(json.dumps(row, default=str, ensure_ascii=False))
    return "\n".join(values).lower()


def test_a_reader_who_gave_and_entered_is_exported_then_erased_everywhere(
    client, campaign, django_capture_on_commit_callbacks
):
    email = "ada.reader@example.org"
    give(client, email, "Ada Lovelace-Reader", django_capture_on_commit_callbacks)
    answer_and_enter(client, email, django_capture_on_commit_callbacks)
    stripe_event_with_address(email, "Ada Lovelace-Reader")
    stored = everything_stored()
    assert email in stored and "lovelace-reader" in stored and FREE_TEXT.lower() in stored

    before = json.dumps(personal_data("export", email), ensure_ascii=False)

    assert "Lovelace-Reader" in before
    assert FREE_TEXT in before and OTHER_TEXT in before  # the answers linked to the entry
    assert "checkout.session.completed" in before  # the stored events that hold the address

    personal_data("erase", email)
    after = personal_data("export", email)

    stored = everything_stored()
    assert email not in stored
    assert "lovelace-reader" not in stored
    assert FREE_TEXT.lower() not in stored and OTHER_TEXT.lower() not in stored
    assert all(not any(part.values()) for part in after.values()), after
