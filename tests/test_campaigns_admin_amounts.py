"""Editors set a campaign's amounts as rows per frequency in the campaign's currency (major
units), and see the campaign's preview beside the form."""

import pytest
from django.contrib.auth.models import User

from campaigns.models import Campaign
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


def form_data(page, **changes):
    """What the browser would post: the page's own form values, with `changes`."""
    form = page.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    for prefix in ("variants",):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(changes)
    return data


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
        assert page.get_by_label("Monthly: amounts").input_value() == "5.00, 10.00"
        page.locator(".campaign-preview iframe").scroll_into_view_if_needed()  # loads lazily
        page.frame_locator(".campaign-preview iframe").locator("article").wait_for()
        screenshot(page, f"admin-campaign-{label}", full_page=False)
        page.get_by_label("Monthly: amounts").scroll_into_view_if_needed()
        screenshot(page, f"admin-campaign-amounts-{label}", full_page=False)
    box = page.locator(".campaign-preview").bounding_box()
    assert box is not None
