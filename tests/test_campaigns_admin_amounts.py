"""Editors set a campaign's amounts, and each A/B variant's, as rows per frequency in the
campaign's currency (major units), and see the campaign's preview beside the form."""

import pytest
from django.contrib.auth.models import User

from campaigns.models import Campaign, Variant
from tests.admin_pages import form_data
from tests.axe import PHONE, screenshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client):
    client.force_login(User.objects.create_superuser("ed", "ed@example.org", "x-long-pass"))
    return client


@pytest.fixture
def campaign():
    return Campaign.objects.create(
        name="Spring",
        slug="spring",
        status="live",
        currency="EUR",
        amounts={"monthly": {"presets": [500, 1000], "default": 1000}},
    )


def test_amounts_are_rows_in_major_units_and_save_as_minor_units(editor, campaign):
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    page = editor.get(url)
    html = page.content.decode()
    assert 'name="amounts_monthly" value="5.00, 10.00"' in html
    assert 'name="default_monthly" value="10.00"' in html
    assert 'name="amounts"' not in html  # no JSON to edit

    saved = editor.post(
        url,
        form_data(
            page,
            amounts_monthly="3, 7.50, 12",
            default_monthly="7,50",
            amounts_one_off="25",
            default_one_off="",
        ),
    )

    assert saved.status_code == 302, saved.context["adminform"].form.errors
    campaign.refresh_from_db()
    assert campaign.amounts == {
        "one_off": {"presets": [2500], "default": 2500},
        "monthly": {"presets": [300, 750, 1200], "default": 750},
    }


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amounts_monthly": "5, 1e3"}, "amounts_monthly", "as a number in EUR"),
        ({"default_monthly": "8"}, "default_monthly", "must be one of the amounts"),
        ({"amounts_monthly": ""}, "amounts_one_off", "Offer at least one frequency"),
    ],
)
def test_wrong_amounts_are_explained(editor, campaign, changes, field, message):
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    page = editor.get(url)

    response = editor.post(url, form_data(page, **changes))

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    campaign.refresh_from_db()
    assert campaign.amounts == {"monthly": {"presets": [500, 1000], "default": 1000}}


@pytest.fixture
def variant(campaign):
    campaign.currency = "GBP"
    campaign.save()
    return Variant.objects.create(
        campaign=campaign,
        key="b",
        headline="Keep us free",
        amounts={"annual": {"presets": [6000, 12000], "default": 12000}},
    )


def post_variant_rows(editor, variant, **rows):
    """Post the campaign's page as shown, with the first variant's `rows` changed."""
    url = f"/admin/campaigns/campaign/{variant.campaign_id}/change/"
    page = editor.get(url)
    return editor.post(
        url, form_data(page, **{f"variants-0-{name}": value for name, value in rows.items()})
    )


def test_a_variants_amounts_are_rows_in_the_campaigns_currency(editor, variant):
    url = f"/admin/campaigns/campaign/{variant.campaign_id}/change/"
    page = editor.get(url)
    html = page.content.decode()
    assert 'name="variants-0-amounts_annual" value="60.00, 120.00"' in html
    assert 'name="variants-0-default_annual" value="120.00"' in html
    assert 'name="variants-0-amounts"' not in html  # no JSON to edit
    assert "Leave every row empty to use the campaign" in html

    saved = post_variant_rows(
        editor, variant, amounts_monthly="4, 8.50", default_monthly="8,50", amounts_annual=""
    )

    assert saved.status_code == 302, saved.context["errors"]
    variant.refresh_from_db()
    assert variant.amounts == {"monthly": {"presets": [400, 850], "default": 850}}


def test_a_variant_with_every_row_empty_uses_the_campaigns_amounts(editor, variant):
    saved = post_variant_rows(editor, variant, amounts_annual="", default_annual="")

    assert saved.status_code == 302, saved.context["errors"]
    variant.refresh_from_db()
    assert variant.amounts == {}


def test_a_new_variant_on_a_new_campaign_reads_its_rows_in_the_chosen_currency(editor):
    page = editor.get("/admin/campaigns/campaign/add/")
    data = form_data(
        page,
        name="Autumn",
        slug="autumn",
        status="draft",
        currency="USD",
        amounts_one_off="10, 20",
        **{
            "variants-TOTAL_FORMS": "1",
            "variants-0-key": "b",
            "variants-0-weight": "50",
            "variants-0-amounts_one_off": "15, 30",
            "variants-0-default_one_off": "30",
        },
    )

    saved = editor.post("/admin/campaigns/campaign/add/", data)

    assert saved.status_code == 302, saved.context["errors"]
    variant = Variant.objects.get(campaign__slug="autumn")
    assert variant.amounts == {"one_off": {"presets": [1500, 3000], "default": 3000}}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amounts_annual": "60, 1e3"}, "amounts_annual", "as a number in GBP"),
        ({"amounts_annual": "60, abc"}, "amounts_annual", "as a number in GBP"),
        ({"default_annual": "90"}, "default_annual", "must be one of the amounts"),
        ({"amounts_annual": "0"}, "amounts_annual", "each more than zero"),
        ({"amounts_annual": "1, 2, 3, 4, 5, 6, 7"}, "amounts_annual", "Give 1 to 6 amounts"),
    ],
)
def test_wrong_variant_amounts_are_explained_on_their_row(editor, variant, changes, field, message):
    response = post_variant_rows(editor, variant, **changes)

    assert response.status_code == 200
    variant_form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert message in " ".join(variant_form.errors[field])
    variant.refresh_from_db()
    assert variant.amounts == {"annual": {"presets": [6000, 12000], "default": 12000}}


def test_a_money_goal_is_entered_in_major_units(editor, campaign):
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    page = editor.get(url)

    saved = editor.post(
        url, form_data(page, goal_kind="money", goal_target="5000", goal_baseline="1250.50")
    )

    assert saved.status_code == 302, saved.context["adminform"].form.errors
    campaign.refresh_from_db()
    assert (campaign.goal_target, campaign.goal_baseline) == (500000, 125050)
    html = editor.get(url).content.decode()
    assert 'name="goal_target" value="5000.00"' in html
    refused = editor.post(url, form_data(page, goal_kind="money", goal_target="5e3"))
    assert "as a number in EUR" in " ".join(refused.context["adminform"].form.errors["goal_target"])


def test_the_preview_sits_beside_the_form_and_may_be_framed_by_us_only(editor, campaign, client):
    html = editor.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert 'class="campaign-preview"' in html
    src = html.split('<iframe src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert src.startswith("/demo/?rs_preview=")

    framed = client.get(src)
    assert "frame-ancestors 'self'" in framed["Content-Security-Policy"]
    assert framed["X-Frame-Options"] == "SAMEORIGIN"
    plain = client.get("/demo/")
    assert "frame-ancestors 'none'" in plain["Content-Security-Policy"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_campaign_page_in_a_browser(page, live_server):
    campaign = Campaign.objects.create(
        name="Spring",
        slug="spring",
        status="live",
        currency="EUR",
        amounts={"monthly": {"presets": [500, 1000], "default": 1000}},
        placement_banner=True,
        headline="Spring appeal",
    )
    Variant.objects.create(
        campaign=campaign, key="b", amounts={"monthly": {"presets": [700, 1400], "default": 700}}
    )
    User.objects.create_superuser("ed", "ed@example.org", "x-long-pass")
    page.goto(
        f"{live_server.url}/admin/login/?next=/admin/campaigns/campaign/{campaign.pk}/change/"
    )
    page.get_by_label("Username").fill("ed")
    page.get_by_label("Password").fill("x-long-pass")
    page.get_by_role("button", name="Log in").click()
    for label, size in (("wide", {"width": 1600, "height": 1000}), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")
        campaign_row = page.locator("#id_amounts_monthly")
        variant_row = page.locator("#id_variants-0-amounts_monthly")
        assert campaign_row.input_value() == "5.00, 10.00"
        page.locator(".campaign-preview iframe").scroll_into_view_if_needed()  # loads lazily
        page.frame_locator(".campaign-preview iframe").locator("article").wait_for()
        screenshot(page, f"admin-campaign-{label}", full_page=False)
        campaign_row.scroll_into_view_if_needed()
        screenshot(page, f"admin-campaign-amounts-{label}", full_page=False)
        assert variant_row.input_value() == "7.00, 14.00"
        page.locator("#id_variants-0-amounts_one_off").scroll_into_view_if_needed()
        screenshot(page, f"admin-campaign-variant-amounts-{label}", full_page=False)
        # Each row says what it is, in words, to a screen reader as to the eye.
        assert page.get_by_role("textbox", name="Monthly: amounts").count() == 2
    box = page.locator(".campaign-preview").bounding_box()
    assert box is not None
