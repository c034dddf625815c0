"""What the finance and support roles may do with the contributions ledger in the admin."""

import pytest
from django.contrib.auth.models import Group, User

from staff.roles import EDITORIAL, FINANCE, SUPPORT


def member(role: str) -> User:
    user = User.objects.create_user(username=f"{role}-payments", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # fresh permission cache


@pytest.mark.django_db
def test_finance_reads_every_payments_model_and_may_refund_and_export():
    user = member(FINANCE)

    for model in (
        "supporter",
        "contribution",
        "subscription",
        "payment",
        "refund",
        "dispute",
        "payout",
        "webhookevent",
        "receiptsend",
    ):
        assert user.has_perm(f"payments.view_{model}"), model
        assert not user.has_perm(f"payments.change_{model}"), model
        assert not user.has_perm(f"payments.delete_{model}"), model
    assert user.has_perm("payments.refund_payment")
    assert user.has_perm("payments.export_payments")
    assert user.has_perm("payments.resend_receipt")


@pytest.mark.django_db
def test_support_looks_up_cancels_and_resends_but_cannot_refund_or_export():
    user = member(SUPPORT)

    assert user.has_perm("payments.view_supporter")
    assert user.has_perm("payments.view_contribution")
    assert user.has_perm("payments.view_payment")
    assert user.has_perm("payments.change_subscription")
    assert user.has_perm("payments.resend_receipt")
    assert not user.has_perm("payments.refund_payment")
    assert not user.has_perm("payments.export_payments")
    assert not user.has_perm("payments.view_payout")
    assert not user.has_perm("payments.view_webhookevent")
    assert not user.has_perm("payments.change_payment")


@pytest.mark.django_db
def test_editorial_has_no_access_to_money():
    user = member(EDITORIAL)

    assert not any(perm.startswith("payments.") for perm in user.get_all_permissions())
