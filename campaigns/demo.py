"""Demo data for the embedded default: one live campaign with two variants."""

from django.db import transaction

from campaigns.models import Campaign, Variant
from campaigns.services import campaigns_version_bump

DEMO_SLUG = "support-us"
DEMO_SURVEY_SLUG = "reader-survey"


@transaction.atomic
def demo_seed() -> list[str]:
    """Create (or refresh) the demo campaign; link the demo survey when it exists."""
    from surveys.models import Survey

    survey = Survey.objects.filter(slug=DEMO_SURVEY_SLUG).first()
    campaign, created = Campaign.objects.update_or_create(
        slug=DEMO_SLUG,
        defaults={
            "name": "Support us (demo)",
            "status": Campaign.Status.LIVE,
            "currency": "EUR",
            "amounts": {
                "monthly": {"presets": [500, 1000, 2000], "default": 1000},
                "one_off": {"presets": [1000, 2500, 5000], "default": 2500},
            },
            "placement_banner": True,
            "placement_epic": True,
            "placement_survey": survey is not None,
            "survey": survey,
            "headline": "Support us",
            "body": (
                "We need your help now. Support from readers like you keeps the site open.\n\n"
                "If you've seen value in our reporting, please contribute what you can."
            ),
            "cta_label": "Support us",
            "counter_text": (
                "{supporters} readers like you have already stepped up with a monthly payment "
                "or a once-off donation."
            ),
            "goal_kind": Campaign.GoalKind.SUPPORTERS,
            "goal_target": 7500,
            "goal_baseline": 5000,
            "max_views": 10,
            "max_views_days": 7,
            "dismiss_days": 7,
        },
    )
    Variant.objects.update_or_create(campaign=campaign, key="control", defaults={"weight": 50})
    Variant.objects.update_or_create(
        campaign=campaign,
        key="b",
        defaults={
            "weight": 50,
            "headline": "Keep independent journalism free for everyone",
            "cta_label": "Give now",
        },
    )
    campaigns_version_bump()
    survey_note = f"linked to survey {survey.slug!r}" if survey else "no survey linked yet"
    return [
        f"Campaign {campaign.slug!r} {'created' if created else 'refreshed'}: live, "
        f"variants control and b, {survey_note}."
    ]
