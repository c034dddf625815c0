"""The support page's short "why it matters" copy: the campaign's own field, edited in the
admin, seeded for the demo, and a sensible fallback (the appeal's first paragraph, shortened)."""

import html

import pytest
from django.contrib.auth.models import User

from campaigns.demo import DEMO_SLUG, demo_seed
from campaigns.models import WHY_MAX_LENGTH, Campaign, Variant
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from tests.admin_pages import form_data

pytestmark = pytest.mark.django_db

BODY = "Our reporters cover every council meeting.\n\nNobody else does, so please give."


@pytest.fixture
def appeal(campaign):
    campaign.body = BODY
    campaign.why_it_matters = "Your €5 pays for an hour of a reporter at the town hall."
    campaign.save()
    return campaign


def why_on_page(client, query=""):
    page = client.get(f"/support/keep-local-news-open/{query}").content.decode()
    if 'class="rs-why"' not in page:
        return None
    return html.unescape(page.split('class="rs-why">', 1)[1].split("</p>", 1)[0])


def test_the_support_page_shows_the_campaigns_own_why_not_its_body(client, appeal):
    assert why_on_page(client) == "Your €5 pays for an hour of a reporter at the town hall."


def test_without_its_own_why_the_page_shows_the_bodys_first_paragraph(client, appeal):
    appeal.why_it_matters = "   "
    appeal.save()

    assert why_on_page(client) == "Our reporters cover every council meeting."


def test_the_fallback_follows_the_variant_the_reader_saw_and_is_shortened_at_a_word(client, appeal):
    appeal.why_it_matters = ""
    appeal.save()
    long_body = "Every week we sit through meetings nobody else covers, " * 10
    Variant.objects.create(campaign=appeal, key="b", body=long_body)

    shown = why_on_page(client, "?variant=b")

    assert shown is not None
    assert len(shown) <= WHY_MAX_LENGTH
    assert shown.endswith("…") and not shown.endswith(" …")
    assert long_body.startswith(shown[:-1])
    assert long_body[len(shown) - 1] == " "  # cut between words


def test_no_why_and_no_body_shows_no_empty_paragraph(client, appeal):
    appeal.why_it_matters = ""
    appeal.body = ""
    appeal.save()

    assert why_on_page(client) is None


def test_editors_set_it_in_the_admin_within_its_length(client, appeal):
    client.force_login(User.objects.create_superuser("ed", "ed@example.org", "x-long-pass"))
    url = f"/admin/campaigns/campaign/{appeal.pk}/change/"
    page = client.get(url)
    assert 'name="why_it_matters"' in page.content.decode()

    refused = client.post(url, form_data(page, why_it_matters="x" * (WHY_MAX_LENGTH + 1)))
    saved = client.post(url, form_data(page, why_it_matters="A shorter reason."))

    assert f"at most {WHY_MAX_LENGTH} characters" in " ".join(
        refused.context["adminform"].form.errors["why_it_matters"]
    )
    assert saved.status_code == 302
    appeal.refresh_from_db()
    assert appeal.why_it_matters == "A shorter reason."


def test_the_demo_campaign_has_its_own_why():
    demo_seed()

    demo = Campaign.objects.get(slug=DEMO_SLUG)
    assert demo.why_it_matters
    assert len(demo.why_it_matters) <= WHY_MAX_LENGTH
    assert demo.why_it_matters not in demo.body
