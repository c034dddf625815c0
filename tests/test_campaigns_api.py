"""The decision endpoint and the beacon intake over HTTP: answers, errors, CORS, caching, SQL."""

import json
from urllib.parse import urlencode

import pytest
from django.core.cache import cache

from campaigns.compiled import VERSION_KEY, Compiled, Registry
from campaigns.models import Campaign, EventCount
from campaigns.services import killswitch_activate, preview_token_make
from campaigns.tests.factories import CampaignFactory, VariantFactory
from campaigns.tests.fixtures import fixture_fresh_registry  # noqa: F401

pytestmark = pytest.mark.django_db

DECISION = "/api/decision/"
EVENTS = "/api/events/"


def ask(client, **params):
    query = {"placements": "banner", "rid": "reader-0001", **params}
    return client.get(f"{DECISION}?{urlencode(query)}")


def beacon(client, body, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(EVENTS, data=data, content_type="text/plain;charset=UTF-8", **headers)


def test_decision_answers_with_the_appeal(client):
    CampaignFactory.create(slug="spring")

    response = ask(client)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["appeals"]["banner"]["campaign"] == "spring"
    assert response["Cache-Control"] == "private, no-store"


def test_steady_state_decisions_run_no_sql(client, settings, django_assert_num_queries):
    CampaignFactory.create(slug="spring")
    ask(client)  # compiles once

    with django_assert_num_queries(0):
        for i in range(5):
            assert ask(client, rid=f"reader-{i:05d}").status_code == 200
    # Even when every request checks the version token, an unchanged version costs no SQL.
    settings.CAMPAIGN_REFRESH_SECONDS = 0
    with django_assert_num_queries(0):
        assert ask(client).json()["appeals"]["banner"]["campaign"] == "spring"


def test_staff_changes_reach_the_endpoint_after_a_version_bump(
    client, settings, django_capture_on_commit_callbacks
):
    settings.CAMPAIGN_REFRESH_SECONDS = 0
    campaign = CampaignFactory.create(slug="spring")
    assert "banner" in ask(client).json()["appeals"]

    Campaign.objects.filter(pk=campaign.pk).update(status="paused")
    assert "banner" in ask(client).json()["appeals"], "no bump yet: the compiled copy stands"

    with django_capture_on_commit_callbacks(execute=True):
        killswitch_activate(reason="testing the bump")
    assert ask(client).json()["appeals"] == {}


def test_kill_switch_is_effective_within_the_refresh_interval(
    client, settings, django_capture_on_commit_callbacks
):
    import time

    settings.CAMPAIGN_REFRESH_SECONDS = 0.2
    CampaignFactory.create(slug="spring")
    assert "banner" in ask(client, tags="flood").json()["appeals"]

    with django_capture_on_commit_callbacks(execute=True):
        killswitch_activate(tag="flood")
    time.sleep(0.25)

    assert ask(client, tags="flood").json()["appeals"] == {}
    assert "banner" in ask(client, tags="sport").json()["appeals"]


def test_a_failed_refresh_keeps_the_last_good_copy(settings):
    settings.CAMPAIGN_REFRESH_SECONDS = 0
    good = Compiled("v1", (), {}, kill_all=False, kill_tags=frozenset(), compiled_at=0)
    versions = iter(["v1", "v2", "v3"])
    calls = []

    def loader(version):
        calls.append(version)
        if version != "v1":
            raise RuntimeError("database down")
        return good

    registry = Registry(loader=loader, version_reader=lambda: next(versions))

    assert registry.current() is good
    assert registry.current() is good  # v2 failed to compile
    assert registry.current() is good  # v3 too
    assert calls == ["v1", "v2", "v3"]


def test_a_cache_outage_keeps_the_last_good_copy(settings):
    settings.CAMPAIGN_REFRESH_SECONDS = 0
    good = Compiled("v1", (), {}, kill_all=False, kill_tags=frozenset(), compiled_at=0)
    answers = iter(["v1"])

    def version():
        return next(answers)  # StopIteration after the first: the cache "fails"

    registry = Registry(loader=lambda v: good, version_reader=version)
    assert registry.current() is good
    assert registry.current() is good


def test_checks_happen_at_most_every_refresh_interval(settings):
    settings.CAMPAIGN_REFRESH_SECONDS = 60
    reads = []
    good = Compiled("v", (), {}, kill_all=False, kill_tags=frozenset(), compiled_at=0)

    def version():
        reads.append(1)
        return "v"

    registry = Registry(loader=lambda v: good, version_reader=version)
    for _ in range(100):
        registry.current()

    assert len(reads) == 1


def test_version_token_is_created_when_the_cache_lost_it(client):
    cache.delete(VERSION_KEY)
    CampaignFactory.create()

    assert ask(client).status_code == 200
    assert cache.get(VERSION_KEY)


def test_answers_that_do_not_depend_on_the_reader_may_be_shared(client, settings):
    CampaignFactory.create(sections_include="sport")

    response = ask(client, section="news")

    assert response.json() == {"appeals": {}}
    assert response["Cache-Control"] == f"public, max-age={settings.CAMPAIGN_SHARED_CACHE_SECONDS}"
    assert "Origin" in response["Vary"]
    assert "Cf-Ipcountry" in response["Vary"]


def test_country_comes_from_the_configured_header(client, settings):
    settings.COUNTRY_HEADER = "HTTP_X_COUNTRY"
    CampaignFactory.create(slug="de-only", countries="DE")

    assert ask(client, HTTP_X_COUNTRY="GB").json()["appeals"] == {}
    response = client.get(
        f"{DECISION}?placements=banner&rid=reader-0001", headers={"X-Country": "de"}
    )
    assert response.json()["appeals"]["banner"]["campaign"] == "de-only"


def test_cors_allows_only_the_publisher_origins(client, settings):
    settings.PUBLISHER_ORIGINS = ["https://news.example"]
    CampaignFactory.create()

    allowed = client.get(
        f"{DECISION}?placements=banner", headers={"Origin": "https://news.example"}
    )
    other = client.get(f"{DECISION}?placements=banner", headers={"Origin": "https://evil.example"})
    preflight = client.options(DECISION, headers={"Origin": "https://news.example"})

    assert allowed["Access-Control-Allow-Origin"] == "https://news.example"
    assert "Access-Control-Allow-Origin" not in other
    assert preflight.status_code == 204
    assert "GET" in preflight["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("", 400, "placements"),
        ("placements=popup", 400, "unknown placement"),
        ("placements=banner&rid=%00%01", 400, "rid"),
        ("placements=banner&history=" + "x" * 5000, 414, "too long"),
        ("placements=banner&preview=forged", 400, "preview"),
        ("placements=banner&reads=1,2,three", 400, "reads"),
    ],
)
def test_bad_decision_requests_get_a_clear_4xx(client, query, status, message):
    response = client.get(f"{DECISION}?{query}")

    assert response.status_code == status
    assert message in response.json()["error"]


def test_wrong_methods_are_refused(client):
    assert client.post(DECISION).status_code == 405
    assert client.get(EVENTS).status_code == 405
    assert client.put(EVENTS).status_code == 405


def test_preview_link_shows_a_draft_campaign_regardless_of_targeting(client):
    campaign = CampaignFactory.create(slug="draft", status="draft", sections_include="nowhere")
    VariantFactory.create(campaign=campaign, key="control")
    VariantFactory.create(campaign=campaign, key="b", headline="Variant B")
    token = preview_token_make(campaign=campaign, variant_key="b")

    response = ask(client, preview=token, history="draft~1~1")

    appeal = response.json()["appeals"]["banner"]
    assert (appeal["campaign"], appeal["variant"], appeal["headline"]) == (
        "draft",
        "b",
        "Variant B",
    )
    assert appeal["preview"] is True
    assert response["Cache-Control"] == "no-store"
    assert ask(client, preview=token[:-2] + "xx").status_code == 400


def test_beacons_are_counted_in_the_embedded_default(client, settings):
    settings.CAMPAIGN_EVENTS_STORE = "database"
    campaign = CampaignFactory.create(slug="spring")
    event = {"campaign": "spring", "variant": "control", "placement": "banner", "event": "view"}

    for _ in range(3):
        assert beacon(client, event).status_code == 204
    assert (
        beacon(client, [{**event, "event": "click"}, {**event, "event": "dismiss"}]).status_code
        == 204
    )

    counts = dict(EventCount.objects.filter(campaign=campaign).values_list("kind", "count"))
    assert counts == {"view": 3, "click": 1, "dismiss": 1}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("not json", 400, "JSON"),
        ("[]", 400, "1 to 10"),
        ('"view"', 400, "object"),
        (
            '{"campaign": "spring", "variant": "control", "placement": "banner", "event": "hover"}',
            400,
            "event",
        ),
        (
            '{"campaign": "spring", "variant": "control", "placement": "footer", "event": "view"}',
            400,
            "placement",
        ),
        (
            '{"campaign": "nope", "variant": "control", "placement": "banner", "event": "view"}',
            400,
            "campaign",
        ),
        (
            '{"campaign": "spring", "variant": "zz", "placement": "banner", "event": "view"}',
            400,
            "variant",
        ),
        ('{"campaign": "spring", "pad": "' + "x" * 3000 + '"}', 413, "too large"),
    ],
)
def test_bad_beacons_get_a_clear_4xx_and_count_nothing(client, body, status, message):
    CampaignFactory.create(slug="spring")

    response = beacon(client, body)

    assert response.status_code == status
    assert message in response.json()["error"]
    assert not EventCount.objects.exists()


def test_beacons_from_other_sites_are_refused(client, settings):
    settings.PUBLISHER_ORIGINS = ["https://news.example"]
    CampaignFactory.create(slug="spring")
    event = {"campaign": "spring", "variant": "control", "placement": "banner", "event": "view"}

    assert beacon(client, event, headers={"Origin": "https://evil.example"}).status_code == 403
    ok = beacon(client, event, headers={"Origin": "https://news.example"})
    assert ok.status_code == 204
    assert ok["Access-Control-Allow-Origin"] == "https://news.example"


def test_embed_script_is_served_with_cache_headers(client):
    response = client.get("/embed.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "public" in response["Cache-Control"]
    assert b"reader-support:supporter" in response.content


def test_the_short_path_still_checks_the_host_and_adds_security_headers(client):
    CampaignFactory.create()

    assert client.get(f"{DECISION}?placements=banner", HTTP_HOST="evil.example").status_code == 400
    response = client.get(f"{DECISION}?placements=banner")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in response
    assert (
        client.post(EVENTS, data="{}", content_type="text/plain", HTTP_HOST="x.example").status_code
        == 400
    )
