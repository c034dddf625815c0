"""The worker's hand-written reads and writes (`payments.hot_rows`) give and keep exactly what
the ORM does, field by field, on the database in use (PostgreSQL in CI, SQLite in the demo)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction

from payments.hot_rows import row_locked, row_save, row_update, rows_locked
from payments.models import Contribution, Payment, Supporter

pytestmark = pytest.mark.django_db


def _values(instance):
    return {
        field.attname: getattr(instance, field.attname)
        for field in type(instance)._meta.concrete_fields
    }


@pytest.fixture(name="payment")
def payment_fixture():
    supporter = Supporter.objects.create(email="rows@example.org", name="Row Reader")
    contribution = Contribution.objects.create(
        supporter=supporter,
        frequency="one_off",
        amount_minor=1234,
        currency="EUR",
        first_paid_at=datetime(2026, 11, 30, 23, 59, 58, 123456, tzinfo=UTC),
    )
    return Payment.objects.create(
        contribution=contribution,
        kind=Payment.Kind.ONE_OFF,
        status=Payment.Status.SUCCEEDED,
        gross_minor=1234,
        currency="EUR",
        stripe_payment_intent_id="pi_rows",
        settlement_amount_minor=1050,
        settlement_currency="GBP",
        exchange_rate=Decimal("0.851234"),
        paid_at=datetime(2026, 12, 1, 0, 0, 1, 5, tzinfo=UTC),
        livemode=False,
    )


def test_a_locked_row_reads_every_field_as_the_orm_does(payment):
    with transaction.atomic():
        for model, pk in ((Payment, payment.pk), (Contribution, payment.contribution_id)):
            assert _values(row_locked(model, pk)) == _values(model.objects.get(pk=pk))
        found = rows_locked(Payment, "stripe_payment_intent_id = %s", ["pi_rows"])
        assert [_values(row) for row in found] == [_values(Payment.objects.get(pk=payment.pk))]
        assert row_locked(Payment, payment.pk + 1000) is None


def test_a_row_update_writes_what_save_would_and_moves_updated_at(payment):
    contribution = Contribution.objects.get(pk=payment.contribution_id)
    before = contribution.updated_at
    contribution.status = Contribution.Status.PAID
    contribution.canceled_at = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
    contribution.stripe_payment_intent_id = "pi_rows"

    row_update(contribution, ["status", "canceled_at", "stripe_payment_intent_id", "updated_at"])

    stored = Contribution.objects.get(pk=contribution.pk)
    assert _values(stored) == _values(contribution)
    assert stored.updated_at > before
    # The times are stored as the ORM stores them: filters on them still match.
    assert Contribution.objects.filter(canceled_at=contribution.canceled_at).exists()


def test_a_row_save_inserts_and_updates_what_save_would(payment):
    fields = {
        "contribution_id": payment.contribution_id,
        "kind": Payment.Kind.ONE_OFF,
        "status": Payment.Status.SUCCEEDED,
        "gross_minor": 990,
        "currency": "EUR",
        "settlement_amount_minor": 845,
        "settlement_currency": "GBP",
        "exchange_rate": Decimal("0.853535"),
        "paid_at": datetime(2026, 12, 1, 9, 30, 0, 250, tzinfo=UTC),
        "livemode": True,
    }
    # Each payment intent is one payment's.
    by_orm = Payment(**fields, stripe_payment_intent_id="pi_by_orm")
    by_hand = Payment(**fields, stripe_payment_intent_id="pi_by_hand")
    by_orm.save()
    row_save(by_hand)

    assert by_hand.pk and not by_hand._state.adding
    stored = Payment.objects.get(pk=by_hand.pk)
    made_now = {"id", "created_at", "updated_at", "stripe_payment_intent_id"}
    assert {k: v for k, v in _values(stored).items() if k not in made_now} == {
        k: v for k, v in _values(by_orm).items() if k not in made_now
    }
    assert _values(stored) == _values(by_hand)
    assert stored.created_at and stored.updated_at  # auto_now_add and auto_now

    by_hand.refunded_minor, by_hand.failure_message = 100, "partly refunded"
    before = stored.updated_at
    row_save(by_hand)
    again = Payment.objects.get(pk=by_hand.pk)
    assert _values(again) == _values(by_hand)
    assert again.updated_at > before and again.created_at == stored.created_at
    assert Payment.objects.count() == 3  # the fixture's, the ORM's, ours: updated, not inserted
