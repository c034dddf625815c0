"""Factories for the payments ledger, as finance's tests need it."""

import datetime as dt

import factory

from campaigns.models import Campaign
from payments.models import (
    Contribution,
    Dispute,
    DisputeMovement,
    Payment,
    Payout,
    Refund,
    Subscription,
    Supporter,
)

UTC = dt.UTC


class CampaignFactory(factory.django.DjangoModelFactory[Campaign]):
    class Meta:
        model = Campaign
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Campaign {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    status = Campaign.Status.LIVE


class SupporterFactory(factory.django.DjangoModelFactory[Supporter]):
    class Meta:
        model = Supporter

    email = factory.Sequence(lambda n: f"reader{n}@example.com")
    name = factory.Faker("name")


class ContributionFactory(factory.django.DjangoModelFactory[Contribution]):
    class Meta:
        model = Contribution

    supporter = factory.SubFactory(SupporterFactory)
    frequency = "one_off"
    amount_minor = 1000
    currency = "EUR"
    status = Contribution.Status.PAID


class PaymentFactory(factory.django.DjangoModelFactory[Payment]):
    class Meta:
        model = Payment

    contribution = factory.SubFactory(ContributionFactory)
    kind = Payment.Kind.ONE_OFF
    status = Payment.Status.SUCCEEDED
    stripe_charge_id = factory.Sequence(lambda n: f"ch_test_{n:06d}")
    stripe_balance_transaction_id = factory.Sequence(lambda n: f"txn_test_{n:06d}")
    gross_minor = 1000
    fee_minor = 50
    net_minor = factory.LazyAttribute(lambda p: p.gross_minor - (p.fee_minor or 0))
    currency = factory.LazyAttribute(lambda p: p.contribution.currency if p.contribution else "EUR")
    # Settled in the charge's currency unless told otherwise (fee and net are in it too).
    settlement_currency = factory.LazyAttribute(
        lambda p: p.currency if p.fee_minor is not None else ""
    )
    settlement_amount_minor = factory.LazyAttribute(
        lambda p: p.gross_minor if p.fee_minor is not None else None
    )
    payment_method_type = "card"


class SubscriptionFactory(factory.django.DjangoModelFactory[Subscription]):
    class Meta:
        model = Subscription

    contribution = factory.SubFactory(ContributionFactory, frequency="monthly")
    stripe_subscription_id = factory.Sequence(lambda n: f"sub_test_{n:06d}")
    status = Subscription.Status.ACTIVE
    amount_minor = factory.LazyAttribute(lambda s: s.contribution.amount_minor)
    currency = factory.LazyAttribute(lambda s: s.contribution.currency)
    interval = factory.LazyAttribute(
        lambda s: "year" if s.contribution.frequency == "annual" else "month"
    )


class RefundFactory(factory.django.DjangoModelFactory[Refund]):
    class Meta:
        model = Refund

    stripe_refund_id = factory.Sequence(lambda n: f"re_test_{n:06d}")
    amount_minor = factory.LazyAttribute(lambda r: r.payment.gross_minor)
    currency = factory.LazyAttribute(lambda r: r.payment.currency)
    settlement_net_minor = factory.LazyAttribute(lambda r: -r.amount_minor)
    settlement_currency = factory.LazyAttribute(
        lambda r: r.payment.settlement_currency or r.currency
    )
    status = "succeeded"
    refunded_at = dt.datetime(2026, 1, 1, tzinfo=UTC)


class DisputeFactory(factory.django.DjangoModelFactory[Dispute]):
    class Meta:
        model = Dispute

    stripe_dispute_id = factory.Sequence(lambda n: f"dp_test_{n:06d}")
    amount_minor = factory.LazyAttribute(lambda d: d.payment.gross_minor)
    fee_minor = 1500
    currency = factory.LazyAttribute(lambda d: d.payment.currency)
    status = "needs_response"
    opened_at = dt.datetime(2026, 1, 1, tzinfo=UTC)


class DisputeMovementFactory(factory.django.DjangoModelFactory[DisputeMovement]):
    """The withdrawal of a dispute's amount and fee, unless told otherwise."""

    class Meta:
        model = DisputeMovement

    stripe_balance_transaction_id = factory.Sequence(lambda n: f"txn_dp_test_{n:06d}")
    amount_minor = factory.LazyAttribute(lambda m: -m.dispute.amount_minor)
    fee_minor = factory.LazyAttribute(lambda m: m.dispute.fee_minor)
    net_minor = factory.LazyAttribute(lambda m: m.amount_minor - m.fee_minor)
    currency = factory.LazyAttribute(lambda m: m.dispute.currency)
    moved_at = factory.LazyAttribute(lambda m: m.dispute.opened_at)


class PayoutFactory(factory.django.DjangoModelFactory[Payout]):
    class Meta:
        model = Payout

    stripe_payout_id = factory.Sequence(lambda n: f"po_test_{n:06d}")
    amount_minor = 0
    currency = "EUR"
    arrival_date = dt.date(2026, 1, 1)
    status = "paid"
    stripe_created_at = dt.datetime(2026, 1, 1, tzinfo=UTC)


def give(
    *,
    supporter: Supporter | None = None,
    paid_at: dt.datetime,
    gross: int,
    fee: int | None,
    currency: str = "EUR",
    frequency: str = "one_off",
    kind: str = Payment.Kind.ONE_OFF,
    campaign: Campaign | None = None,
    variant: str = "",
    contribution: Contribution | None = None,
    method: str = "card",
    status: str = Payment.Status.SUCCEEDED,
    **payment: object,
) -> Payment:
    """Record a payment (and its contribution, unless given) paid at `paid_at`."""
    if contribution is None:
        contribution = ContributionFactory.create(
            supporter=supporter or SupporterFactory.create(),
            frequency=frequency,
            amount_minor=gross,
            currency=currency,
            campaign=campaign,
            variant_key=variant,
            first_paid_at=paid_at if status == Payment.Status.SUCCEEDED else None,
        )
    return PaymentFactory.create(
        contribution=contribution,
        kind=kind,
        status=status,
        gross_minor=gross,
        fee_minor=fee,
        net_minor=None if fee is None else gross - fee,
        currency=currency,
        paid_at=paid_at if status == Payment.Status.SUCCEEDED else None,
        payment_method_type=method,
        **payment,
    )
