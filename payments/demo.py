"""Demo lines for `manage.py seed_demo`: where to give, and which test cards work."""

from django.conf import settings

from campaigns.models import Campaign
from payments.forms import campaign_frequencies


def demo_seed() -> list[str]:
    """Point at the support page of each live campaign (the campaigns app seeds them)."""
    lines = []
    for campaign in Campaign.objects.filter(status=Campaign.Status.LIVE).order_by("pk"):
        if campaign_frequencies(campaign):
            lines.append(f"Support page: {settings.SITE_URL}/support/{campaign.slug}/")
    if settings.PAYMENTS_DEMO:
        lines.append(
            "Demo payments: card 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined, "
            "4000 0025 0000 3155 asks for 3-D Secure."
        )
        lines.append(
            "Demo renewals: manage.py demo_renew CONTRIBUTION_ID bills a monthly contribution's "
            "next month now (--fail: the card is declined)."
        )
    lines.append(f"Your contributions (self-service): {settings.SITE_URL}/support/account/")
    return lines
