"""`manage.py demo_renew CONTRIBUTION` bills the next period of a demo subscription; `--fail`
declines the card instead."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.demo_provider.renewals import DemoRenewalRefused, demo_renewal_bill
from payments.money import money_format


class Command(BaseCommand):
    help = (
        "Demo provider only: bill the next period of a monthly or annual contribution (or try "
        "the invoice a failed attempt left open again) and deliver Stripe's events to the "
        "webhook intake, so the worker records the renewal and sends the receipt or notice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "contribution", help="a contribution id (a number) or a subscription id (sub_demo_...)"
        )
        parser.add_argument(
            "--fail", action="store_true", help="decline the card: a failed renewal"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            renewal = demo_renewal_bill(reference=options["contribution"], fail=options["fail"])
        except DemoRenewalRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        amount = money_format(renewal.amount_minor, renewal.currency)
        attempt = "Retried the open invoice" if renewal.retried else "Billed the next period"
        self.stdout.write(
            f"{attempt} of contribution {renewal.contribution_id} "
            f"({renewal.subscription_id}, invoice {renewal.invoice_id}): {amount}."
        )
        if renewal.period_end is not None:
            self.stdout.write(f"The period billed ends on {renewal.period_end:%-d %B %Y} (UTC).")
        if renewal.paid:
            self.stdout.write(
                "Paid. invoice.paid was delivered to the webhook intake: a worker records the "
                "renewal and e-mails the receipt."
            )
        else:
            self.stdout.write(
                "Declined. invoice.payment_failed was delivered to the webhook intake: a worker "
                "records the failed payment, marks the contribution past due and e-mails the "
                "failure notice. Run the command again without --fail to retry the invoice."
            )
