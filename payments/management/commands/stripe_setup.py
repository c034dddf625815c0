"""`manage.py stripe_setup`: set the Stripe account up for this service (payments.stripe_setup)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.gateway import GatewayError
from payments.stripe_setup import (
    adaptive_pricing_text,
    api_version_text,
    stripe_account_setup,
    webhook_events_handled,
)


class Command(BaseCommand):
    help = (
        "Create or update the webhook endpoint (pinned API version, the events the service "
        "handles) and the Billing Portal configuration; report the account's payout schedule "
        "and Adaptive Pricing. Safe to run again: it changes only what differs."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PAYMENTS_DEMO or not settings.STRIPE_SECRET_KEY:
            raise CommandError("Set STRIPE_SECRET_KEY: the demo provider needs no set-up.")
        try:
            report = stripe_account_setup()
        except GatewayError as error:
            raise CommandError(f"Stripe refused or could not be reached: {error}") from error
        mode = "live" if settings.STRIPE_LIVEMODE else "test"
        account = report.account
        self.stdout.write(f"Stripe account {account.id} ({account.country}), {mode} mode.")
        self.stdout.write(api_version_text())
        for step in report.steps:
            self.stdout.write(f"{step.what} {step.id}: {step.action}")
            for note in step.notes:
                self.stdout.write(f"  -> {note}")
        events = webhook_events_handled()
        self.stdout.write(f"events ({len(events)}): {', '.join(events)}")
        schedule = account.payout_interval or "unknown"
        if account.payout_delay_days is not None:
            schedule += f", {account.payout_delay_days} days' delay"
        if account.payout_anchor:
            schedule += f", on {account.payout_anchor}"
        self.stdout.write(f"payout schedule: {schedule}")
        self.stdout.write(f"default currency: {account.default_currency}")
        self.stdout.write(adaptive_pricing_text())
        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(f"warning: {warning}"))
