"""Make paid contributions through the demo provider and print the signed-event payloads.

Run as `python -m tests.reliability.make_events COUNT SEED` against the database in
DATABASE_URL (the fault tests run it once, into the template their databases are copied from):
each contribution goes through the same services as the support page and the demo
checkout (Stripe's test card 4242...), and the events the demo provider would deliver are
printed as JSON instead of being stored, for the test to deliver over HTTP as Stripe would.
Every third contribution is monthly (a checkout, a subscription and its first invoice).
"""

import json
import random
import sys

import django


def main(count: int, seed: int) -> None:
    django.setup()
    from campaigns.models import Campaign
    from payments import webhooks
    from payments.demo_provider.checkout import demo_checkout_pay
    from payments.services import Attribution, contribution_start

    payloads: list[str] = []

    def capture(*, payload: bytes, signature: str) -> None:
        payloads.append(payload.decode())

    # The demo provider looks the intake up when it delivers: hand it to us instead.
    webhooks.webhook_event_receive = capture  # type: ignore[assignment]
    campaign, _ = Campaign.objects.get_or_create(
        slug="storm",
        defaults={
            "name": "Storm",
            "status": Campaign.Status.LIVE,
            "currency": "EUR",
            "amounts": {
                "one_off": {"presets": [500, 1000, 2500], "default": 1000},
                "monthly": {"presets": [300, 500, 1000], "default": 500},
            },
        },
    )
    rng = random.Random(seed)
    contributions = []
    for n in range(count):
        frequency = "monthly" if n % 3 == 2 else "one_off"
        amount = rng.choice([300, 500, 1000] if frequency == "monthly" else [500, 1000, 2500])
        started = contribution_start(
            campaign=campaign,
            frequency=frequency,
            amount_minor=amount,
            cover_fees=False,
            email=f"storm-{seed}-{n}@example.org",
            name="",
            marketing_consent=False,
            attribution=Attribution(),
            base_url="http://127.0.0.1",
        )
        first = len(payloads)
        outcome = demo_checkout_pay(session_id=started.session.id, card_number="4242424242424242")
        assert not outcome.error, outcome.error
        contributions.append(
            {"id": started.contribution.pk, "amount": amount, "events": payloads[first:]}
        )
    json.dump({"contributions": contributions}, sys.stdout)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
