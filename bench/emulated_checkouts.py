"""Contributions paid through the Stripe emulator's Checkout: what both webhook benchmarks seed."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PaidCheckout:
    contribution_id: int
    amount_minor: int
    session_id: str
    events: list[dict[str, Any]]  # what the payment made Stripe send, in Stripe's order


def checkouts_paid(
    emulator: Any, *, count: int, provider: str, email_tag: str = ""
) -> list[PaidCheckout]:
    """Create `count` one-off contributions to the bench campaign and pay each in the emulator."""
    from campaigns.models import Campaign
    from payments.models import Contribution, Supporter
    from stripe_emulator.flows import cards, checkout
    from stripe_emulator.scenarios import checkout_session_new

    campaign, _ = Campaign.objects.get_or_create(
        slug="bench",
        defaults={"name": "Bench", "status": "live", "currency": "EUR", "amounts": {"one_off": {}}},
    )
    supporters = Supporter.objects.bulk_create(
        Supporter(email=f"bench-{email_tag}{i}@example.org") for i in range(count)
    )
    contributions = Contribution.objects.bulk_create(
        Contribution(
            supporter=s,
            frequency="one_off",
            amount_minor=1000 + i,
            currency="EUR",
            campaign=campaign,
            provider=provider,
        )
        for i, s in enumerate(supporters)
    )
    paid = []
    for contribution in contributions:
        session = checkout_session_new(
            emulator,
            amount=contribution.amount_minor,
            contribution_id=contribution.pk,
            email=contribution.supporter.email,
        )
        # As the checkout page does (`checkout_session_open`): the contribution holds its
        # session before the reader pays, so the webhook finds it there.
        contribution.stripe_checkout_session_id = session["id"]
        outcome = checkout.session_pay(emulator, session_id=session["id"], number=cards.SUCCESS)
        paid.append(
            PaidCheckout(contribution.pk, contribution.amount_minor, session["id"], outcome.events)
        )
    Contribution.objects.bulk_update(contributions, ["stripe_checkout_session_id"])
    return paid
