"""`manage.py demo_stripe ACTION ...`: what Stripe does without the reader, in the demo."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.demo_provider import actions
from payments.money import money_format


class Command(BaseCommand):
    help = (
        "Demo provider only: play what happens at Stripe without the reader (a Dashboard refund, "
        "a refund failing, a SEPA debit settling, a dispute, time passing, a payout); Stripe's "
        "events reach the webhook intake and the worker records them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        refund = sub.add_parser("refund", help="refund a contribution's latest charge")
        refund.add_argument("contribution", type=int)
        refund.add_argument("--amount", type=int, default=None, help="minor units; default all")
        sub.add_parser("refund-fail", help="a refund fails later").add_argument("refund")
        sepa = sub.add_parser("sepa", help="end a pending SEPA Direct Debit")
        sepa.add_argument("contribution", type=int)
        sepa.add_argument("--fail", action="store_true", help="the bank returns it unpaid")
        dispute = sub.add_parser("dispute", help="the cardholder disputes a charge")
        dispute.add_argument("contribution", type=int)
        dispute.add_argument("--inquiry", action="store_true", help="an inquiry, not a chargeback")
        close = sub.add_parser("dispute-close", help="the bank decides a dispute")
        close.add_argument("dispute")
        close.add_argument("--lost", action="store_true")
        sub.add_parser("advance", help="let days pass at Stripe").add_argument("days", type=float)
        sub.add_parser("payout", help="pay out the available balance").add_argument(
            "--currency", default=None
        )
        sub.add_parser("balance", help="show Stripe's balance")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.stdout.write(self._run(options))
        except actions.DemoActionRefused as refusal:
            raise CommandError(str(refusal)) from refusal

    def _run(self, options: dict[str, Any]) -> str:
        action = options["action"]
        if action == "refund":
            refund = actions.demo_refund(
                contribution_id=options["contribution"], amount_minor=options["amount"]
            )
            return f"Refunded ({refund}); refund.created and charge.refunded were delivered."
        if action == "refund-fail":
            actions.demo_refund_fail(refund_id=options["refund"])
            return "The refund failed; its money is back in the balance (refund.failed)."
        if action == "sepa":
            actions.demo_sepa_settle(contribution_id=options["contribution"], fail=options["fail"])
            return "The SEPA debit " + ("failed." if options["fail"] else "succeeded.")
        if action == "dispute":
            dispute = actions.demo_dispute_open(
                contribution_id=options["contribution"], inquiry=options["inquiry"]
            )
            return f"Dispute {dispute} opened."
        if action == "dispute-close":
            actions.demo_dispute_close(dispute_id=options["dispute"], won=not options["lost"])
            return "The dispute was " + ("lost." if options["lost"] else "won.")
        if action == "advance":
            actions.demo_advance(days=options["days"])
            return f"{options['days']:g} days passed at Stripe."
        if action == "payout":
            payout = actions.demo_payout(currency=options["currency"])
            return f"Payout {payout} paid and reconciled." if payout else "Nothing to pay out."
        lines = [
            f"{currency.upper()}: available "
            f"{money_format(row['available'], currency.upper())}, pending "
            f"{money_format(row['pending'], currency.upper())}"
            for currency, row in sorted(actions.demo_balance().items())
        ]
        return "\n".join(lines) or "The balance is empty."
