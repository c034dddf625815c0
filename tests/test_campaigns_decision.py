"""Targeting, caps, dismissal, kill switches and variant bucketing, on the compiled campaigns."""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.compiled import compile_from_database
from campaigns.decision import (
    BadRequest,
    CampaignHistory,
    PageContext,
    ReaderState,
    bucket,
    decide,
    page_parse,
    reader_parse,
    variant_choose,
)
from campaigns.models import KillSwitch
from campaigns.tests.factories import CampaignFactory, VariantFactory

pytestmark = pytest.mark.django_db

PAGE = PageContext(placements=("banner",), path="/news/story", section="news", device="desktop")
READER = ReaderState(rid="reader-0001")
DAY = 24 * 3600


def shown(page=PAGE, reader=READER, now=None):
    decision = decide(compile_from_database("test"), page, reader, now)
    return {p: a["campaign"] for p, a in decision.appeals.items()}


def test_a_live_campaign_shows_with_its_copy_and_amounts():
    campaign = CampaignFactory.create(slug="spring")

    appeal = decide(compile_from_database("t"), PAGE, READER).appeals["banner"]

    assert appeal["campaign"] == "spring"
    assert appeal["variant"] == "control"
    assert appeal["headline"] == "Support us"
    assert appeal["amounts"] == campaign.amounts
    assert appeal["support_url"] == "/support/spring/"


@pytest.mark.parametrize("status", ["draft", "paused", "ended"])
def test_only_live_campaigns_show(status):
    CampaignFactory.create(status=status)

    assert shown() == {}


def test_schedule_is_respected():
    now = timezone.now()
    CampaignFactory.create(slug="later", starts_at=now + timedelta(hours=1))
    CampaignFactory.create(
        slug="over", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1)
    )
    CampaignFactory.create(
        slug="running", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1)
    )

    assert shown() == {"banner": "running"}
    assert shown(now=(now + timedelta(hours=2)).timestamp()) == {"banner": "later"}


def test_highest_priority_wins_each_placement():
    CampaignFactory.create(slug="low", priority=1)
    CampaignFactory.create(slug="high", priority=5, placement_epic=False)

    page = PageContext(placements=("banner", "epic"))
    assert shown(page) == {"banner": "high", "epic": "low"}


@pytest.mark.parametrize(
    ("targeting", "page", "expected"),
    [
        ({"sections_include": "news,sport"}, {"section": "news"}, True),
        ({"sections_include": "sport"}, {"section": "news"}, False),
        ({"sections_exclude": "news"}, {"section": "news"}, False),
        ({"tags_include": "climate"}, {"tags": frozenset({"climate", "x"})}, True),
        ({"tags_include": "climate"}, {"tags": frozenset({"x"})}, False),
        ({"tags_exclude": "obituary"}, {"tags": frozenset({"obituary"})}, False),
        ({"url_patterns": "/politics/*\n/news/*"}, {"path": "/news/story"}, True),
        ({"url_patterns": "/politics/*"}, {"path": "/news/story"}, False),
        ({"countries": "DE,FR"}, {"country": "DE"}, True),
        ({"countries": "DE,FR"}, {"country": "GB"}, False),
        ({"countries": "DE"}, {"country": ""}, False),
        ({"devices": "mobile"}, {"device": "mobile"}, True),
        ({"devices": "mobile,tablet"}, {"device": "desktop"}, False),
    ],
)
def test_page_targeting(targeting, page, expected):
    CampaignFactory.create(slug="target", **targeting)
    context = PageContext(placements=("banner",), **{"section": "news", "path": "/", **page})

    assert (shown(context) == {"banner": "target"}) is expected


@pytest.mark.parametrize(
    ("targeting", "reader", "expected"),
    [
        ({}, {"supporter": True}, False),
        ({"include_supporters": True}, {"supporter": True}, True),
        ({"readers": "new"}, {"returning": True}, False),
        ({"readers": "new"}, {"returning": False}, True),
        ({"readers": "returning"}, {"returning": False}, False),
        ({"min_articles_read": 3, "articles_window_days": 7}, {"reads": "0,1,6"}, True),
        ({"min_articles_read": 3, "articles_window_days": 7}, {"reads": "0,1,7"}, False),
    ],
)
def test_reader_targeting(targeting, reader, expected):
    CampaignFactory.create(slug="target", **targeting)

    assert (
        shown(reader=ReaderState(rid="r-12345678", **reader)) == {"banner": "target"}
    ) is expected


def history(**per_campaign):
    """Return a reader whose history says this, in the embed's wire format."""
    entries = [
        f"{slug}~{'' if h.dismissed_age is None else h.dismissed_age}~"
        + ",".join(str(age) for age in h.view_ages)
        for slug, h in per_campaign.items()
    ]
    return ReaderState(rid="reader-0001", history=".".join(entries))


def test_frequency_cap_counts_views_in_the_window():
    CampaignFactory.create(slug="c", max_views=3, max_views_days=7)

    assert shown(reader=history(c=CampaignHistory(view_ages=(60, DAY, 2 * DAY)))) == {}
    # One of the three is older than the window: it no longer counts.
    assert shown(reader=history(c=CampaignHistory(view_ages=(60, DAY, 8 * DAY)))) == {"banner": "c"}


def test_minimum_gap_between_views():
    CampaignFactory.create(slug="c", max_views=0, min_gap_minutes=30)

    assert shown(reader=history(c=CampaignHistory(view_ages=(10 * 60,)))) == {}
    assert shown(reader=history(c=CampaignHistory(view_ages=(31 * 60,)))) == {"banner": "c"}


def test_closed_stays_closed_for_the_dismissal_days_then_returns():
    CampaignFactory.create(slug="c", dismiss_days=14)

    assert shown(reader=history(c=CampaignHistory(dismissed_age=13 * DAY))) == {}
    assert shown(reader=history(c=CampaignHistory(dismissed_age=15 * DAY))) == {"banner": "c"}


def test_a_dismissed_campaign_gives_way_to_the_next_one():
    CampaignFactory.create(slug="first", priority=2)
    CampaignFactory.create(slug="second", priority=1)

    assert shown(reader=history(first=CampaignHistory(dismissed_age=60))) == {"banner": "second"}


def test_sensitive_pages_get_nothing():
    CampaignFactory.create()

    decision = decide(compile_from_database("t"), PageContext(("banner",), sensitive=True), READER)

    assert decision.appeals == {}
    assert decision.reader_dependent is False


def test_global_kill_switch_stops_everything():
    CampaignFactory.create()
    KillSwitch.objects.create(tag="")

    assert shown() == {}


def test_tag_kill_switch_stops_only_pages_with_that_tag():
    CampaignFactory.create(slug="c")
    KillSwitch.objects.create(tag="tragedy")
    KillSwitch.objects.create(tag="lifted", active=False)

    assert shown(PageContext(("banner",), tags=frozenset({"tragedy", "x"}))) == {}
    assert shown(PageContext(("banner",), tags=frozenset({"lifted"}))) == {"banner": "c"}
    assert shown(PageContext(("banner",), tags=frozenset({"x"}))) == {"banner": "c"}


def test_variant_is_stable_for_a_reader():
    campaign = CampaignFactory.create(slug="ab")
    VariantFactory.create(campaign=campaign, key="control", weight=50)
    VariantFactory.create(campaign=campaign, key="b", weight=50)
    compiled = compile_from_database("t").by_slug["ab"]

    for rid in ("reader-aaaa1", "reader-bbbb2", "reader-cccc3"):
        first = variant_choose(compiled, rid).key
        assert all(variant_choose(compiled, rid).key == first for _ in range(5))
    assert bucket("reader-aaaa1", "ab") != bucket("reader-aaaa1", "other")


def test_variants_follow_the_weights_over_many_readers():
    campaign = CampaignFactory.create(slug="weights")
    VariantFactory.create(campaign=campaign, key="control", weight=70)
    VariantFactory.create(campaign=campaign, key="b", weight=20)
    VariantFactory.create(campaign=campaign, key="c", weight=10)
    compiled = compile_from_database("t").by_slug["weights"]

    readers = 20_000
    counts = Counter(variant_choose(compiled, f"reader-{i:08d}").key for i in range(readers))

    for key, weight in {"control": 0.7, "b": 0.2, "c": 0.1}.items():
        assert abs(counts[key] / readers - weight) < 0.015, counts


def test_a_reader_without_an_id_sees_the_control():
    campaign = CampaignFactory.create(slug="ab")
    VariantFactory.create(campaign=campaign, key="b", weight=100)
    VariantFactory.create(campaign=campaign, key="control", weight=1)

    assert variant_choose(compile_from_database("t").by_slug["ab"], "").key == "control"


def test_variant_overrides_copy_and_keeps_the_rest():
    campaign = CampaignFactory.create(slug="ab", headline="Original", cta_label="Give")
    VariantFactory.create(campaign=campaign, key="b", weight=1, headline="New headline")

    appeal = decide(compile_from_database("t"), PAGE, READER).appeals["banner"]

    assert appeal["variant"] == "b"
    assert appeal["headline"] == "New headline"
    assert appeal["cta"] == "Give"


def test_survey_prompt_needs_an_open_survey():
    from surveys.models import Survey

    survey = Survey.objects.create(title="Tell us", slug="tell-us", status="open")
    CampaignFactory.create(slug="s", survey=survey, placement_survey=True)

    appeals = decide(compile_from_database("t"), PageContext(("survey",)), READER).appeals

    assert appeals["survey"]["survey_url"] == "/surveys/tell-us/"
    survey.status = "closed"
    survey.save()
    assert (
        decide(compile_from_database("t"), PageContext(("survey",)), READER).appeals["survey"][
            "survey_url"
        ]
        == ""
    )


def test_reader_dependence_is_reported_for_caching():
    CampaignFactory.create(sections_include="sport")
    compiled = compile_from_database("t")

    assert decide(compiled, PAGE, READER).reader_dependent is False
    sport = PageContext(("banner",), section="sport")
    assert decide(compiled, sport, READER).reader_dependent is True


def test_parsing_reader_state():
    reader = reader_parse(
        {"rid": "abcdefgh-1", "returning": "1", "reads": "0,1,5", "history": "a~60~1,2.b~~"}
    )

    assert reader.returning is True
    assert reader.read_ages() == [0, 1, 5]
    assert reader.history_of("a") == CampaignHistory(dismissed_age=60, view_ages=(1, 2))
    assert reader.history_of("b") == CampaignHistory()
    assert reader.history_of("other") is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "placements"),
        ({"placements": "banner,popup"}, "unknown placement"),
        ({"placements": "banner", "device": "fridge"}, "device"),
        ({"placements": "banner", "sensitive": "maybe"}, "sensitive"),
        ({"placements": "banner", "tags": "<script>"}, "tags"),
    ],
)
def test_bad_page_parameters_are_explained(params, message):
    with pytest.raises(BadRequest, match=message):
        page_parse(params)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rid": "x"}, "rid"),
        ({"reads": "1,a"}, "reads"),
        ({"reads": "-1"}, "reads"),
        ({"history": "a~1~1,2." + "b~~1." * 30}, "history"),
        ({"history": "a~~" + ",".join(["1"] * 101)}, "history"),
        ({"history": "a~b"}, "history"),
        ({"history": "a~~1,x"}, "history"),
        ({"reads": ",".join(["1"] * 101)}, "up to 100"),
    ],
)
def test_bad_reader_parameters_are_explained(params, message):
    with pytest.raises(BadRequest, match=message):
        reader_parse(params)


def test_page_url_is_reduced_to_its_path_and_country_checked():
    page = page_parse({"placements": "banner", "url": "https://x.example/a/b?q=1#f"}, country="de")

    assert page.path == "/a/b"
    assert page.country == "DE"
    assert page_parse({"placements": "banner"}, country="XX1").country == ""


def test_decisions_are_fast_enough_in_process():
    for i in range(20):
        CampaignFactory.create(sections_include=f"s{i}", priority=i)
    CampaignFactory.create(slug="fallback", priority=-1)
    compiled = compile_from_database("t")

    started = time.perf_counter()
    for i in range(2000):
        decide(compiled, PAGE, ReaderState(rid=f"reader-{i:06d}"))
    per_call = (time.perf_counter() - started) / 2000

    assert per_call < 0.001


BANNER_AND_EPIC = PageContext(placements=("banner", "epic", "survey"))


def test_banner_and_epic_never_show_the_same_campaign_on_one_page_view():
    CampaignFactory.create(slug="only", priority=2)

    assert shown(BANNER_AND_EPIC) == {"banner": "only"}


def test_the_epic_takes_the_next_campaign_when_the_banner_has_the_first():
    CampaignFactory.create(slug="first", priority=2)
    CampaignFactory.create(slug="second", priority=1)

    assert shown(BANNER_AND_EPIC) == {"banner": "first", "epic": "second"}


def test_staff_may_ask_for_the_same_campaign_in_banner_and_epic():
    CampaignFactory.create(slug="both", show_in_banner_and_epic=True)

    assert shown(BANNER_AND_EPIC) == {"banner": "both", "epic": "both"}


def test_closing_the_banner_closes_the_banner_only():
    CampaignFactory.create(slug="c", dismiss_days=14)

    after_close = shown(BANNER_AND_EPIC, reader=history(c=CampaignHistory(dismissed_age=60)))

    assert after_close == {"epic": "c"}
