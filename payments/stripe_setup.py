"""What `manage.py stripe_setup` does: set the Stripe account up for this service, idempotently,
and report the account settings that change what the ledger sees.

The webhook endpoint's event list is the list of event types the service handles
(`payments.event_handlers.HANDLERS`): one source of truth, so a handler added is an event
subscribed at the next run, and an event the code does not handle is never asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from payments.event_handlers import HANDLERS
from payments.stripe_gateway import (
    API_VERSION,
    AccountSettings,
    SetupStep,
    StripeGateway,
    account_settings_read,
    portal_configuration_ensure,
    webhook_endpoint_ensure,
)


@dataclass(frozen=True)
class SetupReport:
    steps: tuple[SetupStep, ...]
    account: AccountSettings
    warnings: tuple[str, ...]


def webhook_events_handled() -> list[str]:
    """Return the event types the service applies, sorted: the endpoint's event list."""
    return sorted(HANDLERS)


def stripe_account_setup(*, gateway: StripeGateway | None = None) -> SetupReport:
    """Create or update the webhook endpoint and the Billing Portal configuration; read the
    account's settings and say what needs a person's attention."""
    gateway = gateway or StripeGateway.from_settings()
    site = settings.SITE_URL.rstrip("/")
    steps = (
        webhook_endpoint_ensure(
            gateway, url=site + reverse("payments:stripe-webhook"), events=webhook_events_handled()
        ),
        portal_configuration_ensure(
            gateway,
            return_url=site + reverse("payments:account"),
            headline=f"{settings.PAYMENTS_PUBLISHER_NAME}: your contributions",
        ),
    )
    account = account_settings_read(gateway)
    return SetupReport(steps=steps, account=account, warnings=tuple(_warnings(account)))


def _warnings(account: AccountSettings) -> list[str]:
    warnings = []
    if account.payout_interval == "manual":
        warnings.append(
            "Payouts are manual: Stripe cannot list which transactions a manual payout carried, "
            "so payout reconciliation reports them as manual. Choose an automatic schedule "
            "(Dashboard, Settings, Payouts) to reconcile each payout."
        )
    if not account.charges_enabled:
        warnings.append("The account cannot take payments yet: finish its activation first.")
    if not account.payouts_enabled:
        warnings.append("The account cannot pay out yet (no bank account, or checks pending).")
    if not settings.SITE_URL.startswith("https://"):
        warnings.append(f"SITE_URL {settings.SITE_URL} is not https: Stripe will not deliver.")
    return warnings


def adaptive_pricing_text() -> str:
    """Say how Adaptive Pricing is decided (the Dashboard's switch cannot be read through the
    API; each Checkout Session overrides it when the service sends the parameter)."""
    sent = getattr(settings, "PAYMENTS_ADAPTIVE_PRICING", None)
    if sent is None:
        return (
            "Adaptive Pricing follows the Dashboard switch (Settings, Adaptive Pricing), which the "
            "API cannot read: check that it is off, or readers may pay in another currency."
        )
    state = "on" if sent else "off"
    return (
        f"Adaptive Pricing: {state} for every Checkout Session (PAYMENTS_ADAPTIVE_PRICING), "
        "whatever the Dashboard switch says."
    )


def api_version_text() -> str:
    return f"API version {API_VERSION} (pinned; events of another version are held, not applied)"
