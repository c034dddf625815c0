"""The supporter counter and goals move soon after a gift, in every web process."""

import pytest
from django.conf import settings as project_settings
from django.db import transaction

from campaigns.compiled import Registry
from campaigns.services import preview_decide, preview_token_make
from campaigns.tests.factories import CampaignFactory
from payments.ledger import payment_apply
from tests.finance_factories import ContributionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def counted_campaign():
    return CampaignFactory.create(
        slug="counted",
        goal_kind="supporters",
        goal_target=7500,
        goal_baseline=5000,
        counter_text="{supporters} readers like you have already stepped up",
    )


def payload_of(registry):
    compiled = registry.current()
    assert compiled is not None
    return compiled.by_slug["counted"].payload


def give(campaign, captured):
    contribution = ContributionFactory.create(campaign=campaign, status="pending")
    with captured(execute=True), transaction.atomic():
        payment_apply(contribution=contribution, kind="one_off", details=None, paid=True)
        contribution.save(update_fields=["first_paid_at"])


def test_a_gift_moves_the_counter_at_the_next_check(
    settings, counted_campaign, django_capture_on_commit_callbacks
):
    settings.CAMPAIGN_REFRESH_SECONDS = 0
    settings.CAMPAIGN_PROGRESS_SECONDS = 0
    settings.CAMPAIGN_RECOMPILE_SECONDS = 300
    registry = Registry()
    before = payload_of(registry)

    give(counted_campaign, django_capture_on_commit_callbacks)
    after = payload_of(registry)

    assert (before["supporters"], after["supporters"]) == (5000, 5001)
    assert after["goal"]["current"] == 5001


def test_a_gift_reaches_readers_within_30_seconds_by_default():
    # A process checks the tokens every REFRESH seconds and recompiles for a gift once its copy
    # is PROGRESS seconds old: the worst case is the sum.
    worst = project_settings.CAMPAIGN_REFRESH_SECONDS + project_settings.CAMPAIGN_PROGRESS_SECONDS

    assert worst <= 30


def test_gifts_do_not_recompile_a_fresh_copy_at_every_check(
    settings, counted_campaign, django_capture_on_commit_callbacks
):
    settings.CAMPAIGN_REFRESH_SECONDS = 0
    settings.CAMPAIGN_PROGRESS_SECONDS = 60
    registry = Registry()
    first = registry.current()

    give(counted_campaign, django_capture_on_commit_callbacks)

    assert registry.current() is first


def test_a_preview_shows_the_live_goal(counted_campaign, django_capture_on_commit_callbacks):
    give(counted_campaign, django_capture_on_commit_callbacks)
    token = preview_token_make(campaign=counted_campaign, variant_key="control")

    appeals = preview_decide(token=token, placements=("banner",))

    assert appeals is not None
    appeal = appeals["banner"]

    assert appeal["supporters"] == 5001
    assert appeal["goal"]["current"] == 5001


@pytest.mark.parametrize("model", ["campaign", "variant"])
def test_a_counter_without_the_live_count_is_refused(model):
    from django.core.exceptions import ValidationError

    from campaigns.tests.factories import VariantFactory

    row = CampaignFactory.create() if model == "campaign" else VariantFactory.create()
    row.counter_text = "Over 5,000 readers like you have already stepped up"

    with pytest.raises(ValidationError, match=r"\{supporters\}"):
        row.full_clean()


def progress_token():
    from django.core.cache import cache

    from campaigns.compiled import PROGRESS_KEY

    return cache.get(PROGRESS_KEY)


def progress_touches_waiting():
    """The campaigns' callbacks waiting for this transaction's commit (each a cache write)."""
    waiting = transaction.get_connection().run_on_commit
    return [func for _, func, _ in waiting if func.__module__ == "campaigns.services"]


def test_gifts_recorded_together_renew_the_progress_token_once(counted_campaign):
    # A webhook worker records a chunk of gifts in one transaction: one cache write for all.
    contributions = ContributionFactory.create_batch(3, campaign=counted_campaign, status="pending")
    before = progress_token()
    with transaction.atomic():
        for contribution in contributions:
            with transaction.atomic():  # each event's own savepoint
                payment_apply(contribution=contribution, kind="one_off", details=None, paid=True)
        waiting = progress_touches_waiting()

    assert len(waiting) == 1
    assert progress_token() not in (None, before)


def test_a_gift_renews_the_token_when_an_earlier_one_was_undone(counted_campaign):
    # The first event of a chunk fails after its gift asked for the touch: its savepoint rolls
    # back, taking that touch with it; the next event's gift must still renew the token.
    first, second = ContributionFactory.create_batch(2, campaign=counted_campaign)
    before = progress_token()
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            payment_apply(contribution=first, kind="one_off", details=None, paid=True)
            raise RuntimeError("the handler failed after recording the gift")
        with transaction.atomic():
            payment_apply(contribution=second, kind="one_off", details=None, paid=True)
        waiting = progress_touches_waiting()

    assert len(waiting) == 1
    assert progress_token() not in (None, before)
