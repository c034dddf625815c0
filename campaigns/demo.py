"""Demo data for the embedded default: one live campaign with two variants."""

from django.db import transaction

from campaigns.models import Campaign, Variant
from campaigns.services import campaigns_version_bump

DEMO_SLUG = "support-us"
DEMO_SURVEY_SLUG = "reader-survey"
DEMO_WHY = (
    "Our reporting is free for everyone to read, with no paywall. Readers' contributions pay "
    "for the reporters, the fact-checking and the court and council meetings we sit through."
)


@transaction.atomic
def demo_seed() -> list[str]:
    """Create the demo campaign once; link the demo survey when it exists.

    `make run` seeds on every start: what staff changed in the admin since (copy, amounts,
    status, variants) is kept, never overwritten.
    """
    from surveys.models import Survey

    survey = Survey.objects.filter(slug=DEMO_SURVEY_SLUG).first()
    campaign, created = Campaign.objects.get_or_create(
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
            "why_it_matters": DEMO_WHY,
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
    if created:
        Variant.objects.create(campaign=campaign, key="control", weight=50)
        Variant.objects.create(
            campaign=campaign,
            key="b",
            weight=50,
            headline="Keep independent journalism free for everyone",
            cta_label="Give now",
        )
    elif survey is not None and campaign.survey_id is None and not campaign.placement_survey:
        # The survey was seeded after the campaign (an older demo): link it, once.
        campaign.survey = survey
        campaign.placement_survey = True
        campaign.save(update_fields=["survey", "placement_survey"])
    campaigns_version_bump()
    survey_note = f"linked to survey {survey.slug!r}" if survey else "no survey linked yet"
    return [
        f"Campaign {campaign.slug!r} created: live, variants control and b, {survey_note}."
        if created
        else f"Campaign {campaign.slug!r} kept as staff left it ({campaign.get_status_display()})."
    ]
