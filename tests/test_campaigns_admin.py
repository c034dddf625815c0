"""Staff in the admin: campaigns with variants, the kill switch, preview links, results, roles."""

import re
from datetime import date

import pytest

from campaigns.models import Campaign, EventCount, KillSwitch, Variant
from campaigns.tests.factories import CampaignFactory, VariantFactory
from campaigns.tests.fixtures import fixture_fresh_registry  # noqa: F401
from staff.roles import EDITORIAL, FINANCE, SUPPORT
from staff.tests.helpers import staff_member

pytestmark = pytest.mark.django_db


def campaign_form(**overrides):
    data = {
        "name": "Winter appeal",
        "slug": "winter",
        "status": "live",
        "priority": "0",
        "placement_banner": "on",
        "banner_position": "bottom",
        "placement_epic": "on",
        "headline": "Support us",
        "body": "",
        "cta_label": "Give",
        "counter_text": "",
        "currency": "EUR",
        "amounts_one_off": "5, 10",
        "default_one_off": "5",
        "goal_kind": "none",
        "goal_target": "0",
        "goal_baseline": "0",
        "sections_include": " News, Sport ",
        "sections_exclude": "",
        "tags_include": "",
        "tags_exclude": "",
        "url_patterns": "",
        "countries": "de, fr",
        "devices": "",
        "readers": "any",
        "min_articles_read": "0",
        "articles_window_days": "30",
        "max_views": "5",
        "max_views_days": "7",
        "min_gap_minutes": "0",
        "dismiss_days": "14",
        "variants-TOTAL_FORMS": "2",
        "variants-INITIAL_FORMS": "0",
        "variants-0-key": "control",
        "variants-0-weight": "50",
        "variants-0-amounts": "{}",
        "variants-1-key": "b",
        "variants-1-weight": "50",
        "variants-1-headline": "Keep us free",
        "variants-1-amounts": "{}",
    }
    data.update(overrides)
    return data


def test_editorial_creates_a_campaign_with_variants(client, django_capture_on_commit_callbacks):
    client.force_login(staff_member(EDITORIAL))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/admin/campaigns/campaign/add/", campaign_form())

    assert response.status_code == 302, response.context["adminform"].form.errors
    campaign = Campaign.objects.get(slug="winter")
    assert campaign.sections_include == "news,sport"
    assert campaign.countries == "DE,FR"
    assert set(campaign.variants.values_list("key", flat=True)) == {"control", "b"}
    assert callbacks, "saving bumps the version so every process recompiles"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"amounts_one_off": "5, 1e3"}, "amounts_one_off", "as a number in EUR"),
        ({"default_one_off": "7"}, "default_one_off", "must be one of the amounts"),
        ({"amounts_one_off": "-5"}, "amounts_one_off", "as a number in EUR"),
        ({"amounts_one_off": "0"}, "amounts_one_off", "more than zero"),
        ({"amounts_one_off": ""}, "amounts_one_off", "Offer at least one frequency"),
        ({"countries": "Germany"}, "countries", "two-letter"),
        ({"devices": "fridge"}, "devices", "device"),
        ({"placement_survey": "on"}, "placement_survey", "survey"),
        ({"goal_kind": "money"}, "goal_target", "goal"),
    ],
)
def test_campaign_form_explains_mistakes(client, overrides, field, message):
    client.force_login(staff_member(EDITORIAL))

    response = client.post("/admin/campaigns/campaign/add/", campaign_form(**overrides))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field]), errors


def test_variant_keys_are_unique_per_campaign(client):
    client.force_login(staff_member(EDITORIAL))

    response = client.post(
        "/admin/campaigns/campaign/add/", campaign_form(**{"variants-1-key": "control"})
    )

    assert response.status_code == 200
    assert not Campaign.objects.exists()


def test_kill_switch_from_the_admin_stops_appeals(
    client, settings, django_capture_on_commit_callbacks
):
    settings.CAMPAIGN_REFRESH_SECONDS = 0
    CampaignFactory.create(slug="spring")
    client.force_login(staff_member(EDITORIAL))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/campaigns/killswitch/add/", {"tag": "", "reason": "Breaking tragedy"}
        )

    assert response.status_code == 302
    assert KillSwitch.objects.get().active
    assert client.get("/api/decision/?placements=banner").json() == {"appeals": {}}

    switch = KillSwitch.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/campaigns/killswitch/",
            {"action": "lift", "_selected_action": [switch.pk]},
        )
    switch.refresh_from_db()
    assert not switch.active
    assert "banner" in client.get("/api/decision/?placements=banner").json()["appeals"]


def test_preview_links_on_the_change_page_show_each_variant(client):
    campaign = CampaignFactory.create(slug="draft", status="draft")
    VariantFactory.create(campaign=campaign, key="control")
    VariantFactory.create(campaign=campaign, key="b", headline="B copy")
    client.force_login(staff_member(EDITORIAL))

    html = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    links = dict(
        (key, token) for token, key in re.findall(r"rs_preview=([^\"&]+)\"[^>]*>(\w+)</a>", html)
    )

    assert set(links) == {"control", "b"}
    answer = client.get(f"/api/decision/?placements=banner&preview={links['b']}").json()
    assert answer["appeals"]["banner"]["headline"] == "B copy"


def test_results_page_shows_figures_and_a_chart(client):
    campaign = CampaignFactory.create(slug="spring", auto_allocate=True)
    VariantFactory.create(campaign=campaign, key="control")
    VariantFactory.create(campaign=campaign, key="b")
    for key, views, clicks in (("control", 1000, 40), ("b", 900, 70)):
        EventCount.objects.create(
            campaign=campaign,
            variant_key=key,
            placement="banner",
            kind="view",
            day=date(2026, 11, 20),
            count=views,
        )
        EventCount.objects.create(
            campaign=campaign,
            variant_key=key,
            placement="banner",
            kind="click",
            day=date(2026, 11, 21),
            count=clicks,
        )
    client.force_login(staff_member(FINANCE))

    response = client.get(f"/admin/campaigns/campaign/{campaign.pk}/results/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and "Impressions per day" in html
    rows = {r.key: r for r in response.context["results"].variants}
    assert rows["control"].impressions == 1000 and rows["b"].clicks == 70
    assert "Traffic share now" in html


def test_results_page_needs_a_role_that_sees_campaigns(client):
    campaign = CampaignFactory.create()
    client.force_login(staff_member(SUPPORT))

    assert client.get(f"/admin/campaigns/campaign/{campaign.pk}/results/").status_code == 403


def test_finance_reads_but_cannot_change_campaigns_or_kill_switches(client):
    campaign = CampaignFactory.create()
    client.force_login(staff_member(FINANCE))

    assert client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").status_code == 200
    assert client.post(f"/admin/campaigns/campaign/{campaign.pk}/change/", {}).status_code == 403
    assert client.get("/admin/campaigns/killswitch/add/").status_code == 403
    assert client.get("/admin/campaigns/killswitch/").status_code == 200


def test_support_sees_no_campaigns(client):
    client.force_login(staff_member(SUPPORT))

    assert client.get("/admin/campaigns/campaign/").status_code == 403
    assert client.get("/admin/campaigns/killswitch/").status_code == 403


def test_editorial_pauses_campaigns_in_bulk(client):
    campaign = CampaignFactory.create()
    client.force_login(staff_member(EDITORIAL))

    client.post(
        "/admin/campaigns/campaign/", {"action": "pause", "_selected_action": [campaign.pk]}
    )

    campaign.refresh_from_db()
    assert campaign.status == "paused"
    assert Variant.objects.count() == 0


def test_results_include_conversions_and_revenue_from_payments(client):
    from datetime import UTC, datetime

    from payments.models import Contribution, Payment, Supporter

    campaign = CampaignFactory.create(slug="spring")
    VariantFactory.create(campaign=campaign, key="control")
    VariantFactory.create(campaign=campaign, key="b")
    EventCount.objects.create(
        campaign=campaign,
        variant_key="b",
        placement="epic",
        kind="view",
        day=date(2026, 11, 2),
        count=400,
    )
    paid_at = datetime(2026, 11, 2, 12, tzinfo=UTC)
    for index, gross in enumerate((1000, 3000)):
        supporter = Supporter.objects.create(email=f"r{index}@example.org", name="Reader")
        contribution = Contribution.objects.create(
            supporter=supporter,
            frequency="one_off",
            amount_minor=gross,
            currency="EUR",
            campaign=campaign,
            variant_key="b",
            placement="epic",
            article_url="https://news.example.com/story",
            first_paid_at=paid_at,
        )
        Payment.objects.create(
            contribution=contribution,
            kind="one_off",
            status=Payment.Status.SUCCEEDED,
            gross_minor=gross,
            refunded_minor=0,
            currency="EUR",
            paid_at=paid_at,
        )
    client.force_login(staff_member(FINANCE))

    response = client.get(f"/admin/campaigns/campaign/{campaign.pk}/results/")

    b = {r.key: r for r in response.context["results"].variants}["b"]
    assert (b.impressions, b.conversions, b.revenue_minor) == (400, 2, 4000)
    # 2 of 400 impressions gave 20.00 on average: 100.00 per 1,000 impressions.
    assert b.rpm.value == 10_000
    assert "100.00" in response.content.decode()


def test_live_counter_and_goal_count_supporters_from_payments(client):
    from datetime import UTC, datetime

    from payments.models import Contribution, Payment, Supporter

    campaign = CampaignFactory.create(
        slug="goal", goal_kind="money", goal_target=100_000, goal_baseline=5_000
    )
    supporter = Supporter.objects.create(email="r@example.org", name="Reader")
    contribution = Contribution.objects.create(
        supporter=supporter,
        frequency="one_off",
        amount_minor=2500,
        currency="EUR",
        campaign=campaign,
        variant_key="control",
        placement="banner",
        article_url="https://news.example.com/story",
        first_paid_at=datetime.now(UTC),
    )
    Payment.objects.create(
        contribution=contribution,
        kind="one_off",
        status=Payment.Status.SUCCEEDED,
        gross_minor=2500,
        refunded_minor=0,
        currency="EUR",
        paid_at=datetime.now(UTC),
    )

    appeal = client.get("/api/decision/?placements=banner").json()["appeals"]["banner"]

    assert appeal["goal"] == {"kind": "money", "target": 100_000, "current": 7_500}
    assert appeal["supporters"] == 1


def test_a_self_allocating_campaign_sends_most_readers_to_the_better_variant():
    from datetime import UTC, datetime

    from campaigns.compiled import compile_from_database
    from payments.models import Contribution, Payment, Supporter

    campaign = CampaignFactory.create(slug="auto", auto_allocate=True)
    for key, views, gifts in (("control", 5000, 5), ("b", 5000, 40)):
        VariantFactory.create(campaign=campaign, key=key, weight=50)
        EventCount.objects.create(
            campaign=campaign,
            variant_key=key,
            placement="banner",
            kind="view",
            day=date(2026, 11, 2),
            count=views,
        )
        for i in range(gifts):
            paid_at = datetime(2026, 11, 2, 12, tzinfo=UTC)
            contribution = Contribution.objects.create(
                supporter=Supporter.objects.create(email=f"{key}{i}@example.org"),
                frequency="one_off",
                amount_minor=1000,
                currency="EUR",
                campaign=campaign,
                variant_key=key,
                placement="banner",
                article_url="https://news.example.com/a",
                first_paid_at=paid_at,
            )
            Payment.objects.create(
                contribution=contribution,
                kind="one_off",
                status=Payment.Status.SUCCEEDED,
                gross_minor=1000,
                refunded_minor=0,
                currency="EUR",
                paid_at=paid_at,
            )

    compiled = compile_from_database("t").by_slug["auto"]

    shares = dict(zip([v.key for v in compiled.variants], compiled.cumulative_weights, strict=True))
    assert shares["control"] < 0.1  # control's share of readers, at its floor
    assert compiled.cumulative_weights[-1] == 1.0
