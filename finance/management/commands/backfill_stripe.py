import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from finance.backfill import StripeBackfillSource, stripe_backfill
from payments.gateway import GatewayError


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"“{value}” is not a date: use YYYY-MM-DD.") from error


class Command(BaseCommand):
    help = (
        "Backfill payments (one-off and recurring), Stripe fees, refunds, disputes and payouts "
        "from Stripe for a period (days in the publisher's time zone, both included). Safe to "
        "run again: a second run changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--until", required=True, help="last day, YYYY-MM-DD (included)")

    def handle(self, *args: Any, **options: Any) -> None:
        since, until = _day(options["since"]), _day(options["until"])
        if since > until:
            raise CommandError("--since is after --until.")
        if not settings.STRIPE_SECRET_KEY:
            raise CommandError("Set STRIPE_SECRET_KEY: the backfill reads from Stripe.")
        try:
            report = stripe_backfill(since=since, until=until, source=StripeBackfillSource())
        except GatewayError as error:
            raise CommandError(f"Stripe answered with an error: {error}") from error
        self.stdout.write(
            f"{report.invoices_seen} paid invoices read, {report.invoices_recorded} recorded; "
            f"{report.charges_seen} charges read; {report.payments_created} payments recorded, "
            f"{report.payments_updated} completed, {report.refunds_recorded} refunds recorded; "
            f"{report.disputes_seen} disputes read, {report.disputes_created} recorded, "
            f"{report.disputes_updated} updated; {report.payouts_created} payouts recorded, "
            f"{report.payouts_updated} updated; {report.movements_tagged} movements tied to their "
            "payout."
        )
        for ids, what in (
            (report.unmatched_invoices, "paid invoices belong to no contribution in the ledger"),
            (report.unmatched_charges, "charges match no contribution"),
            (report.unmatched_disputes, "disputes are on payments not in the ledger"),
        ):
            if ids:
                self.stdout.write(
                    self.style.WARNING(
                        f"{len(ids)} {what} (look them up in Stripe): " + ", ".join(ids)
                    )
                )
        if not report.changed:
            self.stdout.write(self.style.SUCCESS("The ledger already had everything."))
