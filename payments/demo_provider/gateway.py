"""The demo's gateway: the real `StripeGateway`, talking to the demo's emulator in this process.

Every call goes through the same code as production (the stripe library builds and sends each
request; the emulator answers it as Stripe would), less the client-side rate limit, which is
Stripe's. Two things differ, because no Stripe page can be shown offline: Checkout is the
demo's own page (a hosted session, paid with Stripe's test cards on `/support/demo-checkout/`),
and the Billing Portal session opens the demo's portal page.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

from django.urls import reverse

from payments.demo_provider.store import demo_emulator
from payments.gateway import CheckoutRequest, CheckoutSession
from payments.stripe_gateway import StripeGateway
from stripe_emulator import EmulatorHttpClient

# A test-mode key and an address that name the emulator: nothing reaches Stripe in the demo.
DEMO_API_KEY = "sk_test_demo_provider_offline"
DEMO_API_BASE = "https://stripe-emulator.demo.invalid"


class DemoGateway(StripeGateway):
    """`StripeGateway` on the demo's emulator; labelled `demo` on the contributions it makes."""

    name = "demo"

    def __init__(self) -> None:
        super().__init__(
            api_key=DEMO_API_KEY,
            http_client=EmulatorHttpClient(demo_emulator()),
            api_base=DEMO_API_BASE,
            # The emulator answers in this process, from our database: no Stripe rate applies
            # (test mode's 20 reads a second capped the demo's webhook worker at that), and
            # its answers are not waits for Stripe that would send events side by side.
            rate_limited=False,
        )

    def checkout_session_create(self, *, request: CheckoutRequest) -> CheckoutSession:
        """Create a hosted session (the demo's page stands in for Stripe's) and point at it."""
        hosted = dataclasses.replace(
            request, ui_mode="hosted_page", cancel_url=request.cancel_url or request.return_url
        )
        session = super().checkout_session_create(request=hosted)
        return CheckoutSession(
            id=session.id,
            ui_mode="hosted_page",
            client_secret=None,
            url=reverse("payments:demo-checkout", args=[session.id]),
        )

    def billing_portal_url(self, *, customer_id: str, return_url: str) -> str:
        """Open a portal session as production does, then show the demo's portal page."""
        super().billing_portal_url(customer_id=customer_id, return_url=return_url)
        return reverse("payments:demo-portal") + "?" + urlencode({"return": return_url})
