"""An A/B variant that tests other amounts: the reader who picked one of the variant's amounts in
the appeal meets the same amounts on the support page, and can give them as shown (not as an
"other amount", and not refused when the variant offers a frequency the campaign does not)."""

import re

import pytest

from campaigns.models import Campaign, Variant
from payments.models import Contribution
from payments.tests.fixtures import AMOUNTS

pytestmark = pytest.mark.django_db

VARIANT_AMOUNTS = {
    "one_off": {"presets": [700, 1500, 4000], "default": 1500},
    "annual": {"presets": [6000, 12000], "default": 6000},
}


@pytest.fixture
def campaign():
    campaign = Campaign.objects.create(
        name="Keep local news open",
        slug="keep-local-news-open",
        status="live",
        currency="EUR",
        amounts=AMOUNTS,
    )
    Variant.objects.create(campaign=campaign, key="b", weight=50, amounts=VARIANT_AMOUNTS)
    Variant.objects.create(campaign=campaign, key="control", weight=50)
    return campaign


def test_the_support_page_offers_the_variants_amounts(client, campaign):
    page = client.get("/support/keep-local-news-open/?variant=b&frequency=one_off&amount=700")
    html = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'name="amount" value="700"\s+checked', html)
    assert "€7.00" in html and "€40.00" in html and "€25.00" not in html
    assert 'name="custom_amount" value="7.00"' not in html  # shown as offered, not as "other"


def test_a_variant_without_amounts_offers_the_campaigns(client, campaign):
    html = client.get("/support/keep-local-news-open/?variant=control").content.decode()
    assert "€25.00" in html and "€40.00" not in html


@pytest.mark.parametrize(
    ("variant", "frequency", "amount", "accepted"),
    [
        ("b", "one_off", "4000", True),  # the variant's own amount
        ("b", "annual", "12000", True),  # a frequency only the variant offers
        ("b", "one_off", "2500", False),  # the campaign's, not shown to this reader
        ("control", "one_off", "2500", True),
        ("control", "one_off", "4000", False),
        ("nonsense", "one_off", "2500", True),  # an unknown variant: the campaign's amounts
    ],
)
def test_the_posted_amount_is_checked_against_what_the_reader_was_offered(
    client, campaign, variant, frequency, amount, accepted
):
    response = client.post(
        "/support/keep-local-news-open/",
        {
            "frequency": frequency,
            "amount": amount,
            "email": "reader@example.org",
            "variant": variant,
            "website": "",
        },
    )
    created = Contribution.objects.filter(amount_minor=int(amount), frequency=frequency)
    assert created.exists() is accepted, response.content.decode()[:2000]
