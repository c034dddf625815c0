"""The embedded demo's campaign."""

import pytest

from campaigns.demo import DEMO_SLUG, demo_seed
from campaigns.models import Campaign
from campaigns.tests.fixtures import fixture_fresh_registry  # noqa: F401

pytestmark = pytest.mark.django_db


def test_demo_seed_makes_a_live_campaign_with_two_variants_and_is_idempotent(client):
    demo_seed()
    lines = demo_seed()

    campaign = Campaign.objects.get(slug=DEMO_SLUG)
    assert campaign.status == "live"
    assert campaign.currency == "EUR"
    assert set(campaign.amounts) == {"monthly", "one_off"}
    assert campaign.counter_text.startswith("{supporters} readers like you have already stepped up")
    assert campaign.placement_banner and campaign.placement_epic
    assert set(campaign.variants.values_list("key", flat=True)) == {"control", "b"}
    assert campaign.survey is None
    assert "kept as staff left it" in lines[0]
    appeals = client.get("/api/decision/?placements=banner,epic").json()["appeals"]
    assert set(appeals) == {"banner"}  # one campaign shows once per page view


def test_demo_seed_links_the_demo_survey_when_it_exists():
    from surveys.models import Survey

    survey = Survey.objects.create(title="Reader survey", slug="reader-survey", status="open")

    demo_seed()

    campaign = Campaign.objects.get(slug=DEMO_SLUG)
    assert campaign.survey == survey
    assert campaign.placement_survey


def test_seeding_again_keeps_what_staff_changed():
    demo_seed()
    campaign = Campaign.objects.get(slug=DEMO_SLUG)
    campaign.headline = "Our own words"
    campaign.status = "paused"
    campaign.amounts = {"monthly": {"presets": [700], "default": 700}}
    campaign.save()
    campaign.variants.filter(key="b").delete()

    demo_seed()  # what `make run` does on every start

    campaign.refresh_from_db()
    assert (campaign.headline, campaign.status) == ("Our own words", "paused")
    assert campaign.amounts == {"monthly": {"presets": [700], "default": 700}}
    assert list(campaign.variants.values_list("key", flat=True)) == ["control"]
