"""The name typed at checkout belongs to that contribution; a supporter's own name changes only
once a payment succeeds, or when they change it signed in (issue 11, finding 6)."""

import pytest
from django.core import mail

from payments.models import Contribution, Payment, Supporter
from payments.receipts import receipt_send
from payments.services import sign_in_link_create, supporter_name_change
from payments.tests.fixtures import campaign_fixture, events_apply  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def checkout(client, *, email, name):
    response = client.post(
        "/support/keep-local-news-open/",
        {"frequency": "one_off", "amount": "1000", "email": email, "name": name, "website": ""},
    )
    assert response.status_code == 302, response.content
    return Contribution.objects.filter(supporter__email__iexact=email).latest("pk")


def pay(client, contribution, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/support/demo-checkout/{contribution.stripe_checkout_session_id}/",
            {"card_number": "4242424242424242"},
        )
    events_apply()


def test_starting_a_checkout_with_someone_elses_address_does_not_name_them(client, campaign):
    supporter = Supporter.objects.create(email="ada@example.org")

    contribution = checkout(client, email="ADA@example.org", name="Mallory")

    supporter.refresh_from_db()
    assert supporter.name == ""
    assert contribution.name == "Mallory"
    assert contribution.supporter_id == supporter.pk


def test_a_stranger_paying_in_a_named_supporters_address_leaves_their_name(
    client, campaign, django_capture_on_commit_callbacks
):
    supporter = Supporter.objects.create(email="ada@example.org", name="Ada Lovelace")
    contribution = checkout(client, email="ada@example.org", name="Mallory")

    pay(client, contribution, django_capture_on_commit_callbacks)

    supporter.refresh_from_db()
    assert supporter.name == "Ada Lovelace"
    mail.outbox.clear()
    receipt_send(payment_pk=Payment.objects.get(contribution=contribution).pk)
    assert "Dear Ada Lovelace" in mail.outbox[0].body
    assert "Mallory" not in mail.outbox[0].body


def test_a_paid_checkout_gives_a_new_supporter_the_name_they_typed(
    client, campaign, django_capture_on_commit_callbacks
):
    contribution = checkout(client, email="grace@example.org", name="Grace Hopper")
    assert Supporter.objects.get(email="grace@example.org").name == ""

    pay(client, contribution, django_capture_on_commit_callbacks)

    assert Supporter.objects.get(email="grace@example.org").name == "Grace Hopper"


def test_the_thank_you_page_greets_with_the_name_given_for_that_contribution(client, campaign):
    Supporter.objects.create(email="ada@example.org", name="Ada Lovelace")
    contribution = checkout(client, email="ada@example.org", name="Mallory")

    html = client.get(
        f"/support/thanks/?session_id={contribution.stripe_checkout_session_id}"
    ).content.decode()

    assert "Ada Lovelace" not in html  # a stranger learns nothing of the supporter's record


def test_the_signed_in_supporter_changes_their_own_name(client):
    supporter = Supporter.objects.create(email="ada@example.org", name="Ada")

    supporter_name_change(supporter=supporter, name="  Ada Lovelace ")

    supporter.refresh_from_db()
    assert supporter.name == "Ada Lovelace"


def _signed_in(client, supporter):
    created = sign_in_link_create(email=supporter.email)
    assert created is not None
    client.post(f"/support/account/sign-in/{created[1]}/")
    return client


def test_the_signed_in_supporter_changes_their_name_on_the_account_page(client):
    supporter = Supporter.objects.create(email="ada@example.org", name="Ada")
    page = _signed_in(client, supporter).get("/support/account/").content.decode()
    assert 'value="Ada"' in page

    response = client.post("/support/account/name/", {"name": "Ada Lovelace"})

    assert response.status_code == 302
    supporter.refresh_from_db()
    assert supporter.name == "Ada Lovelace"


def test_nobody_else_changes_a_supporters_name_on_the_account_page(client):
    supporter = Supporter.objects.create(email="ada@example.org", name="Ada")

    response = client.post("/support/account/name/", {"name": "Mallory"})

    assert response.status_code == 302
    supporter.refresh_from_db()
    assert supporter.name == "Ada"
