"""The demo's Stripe: the project's emulator, its objects kept as `DemoObject` rows (so the web
process and the worker see one Stripe), its events signed and delivered to the webhook intake.

Only the event types the service handles are delivered, as a Stripe webhook endpoint subscribed
to them would receive them; every event is still recorded by the emulator (`GET /v1/events`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from payments.deadlocks import is_deadlock
from payments.gateway import GatewayError
from payments.models import DemoObject
from stripe_emulator import Emulator, event_payload, signature_header
from stripe_emulator.api import api_call

Obj = dict[str, Any]
LOCK_ID = "emulator_lock"


class DemoStore:
    """The emulator's `Store` on `DemoObject` rows; each emulator step is one transaction that
    first locks one row, so concurrent steps (web and worker) take turns."""

    def get(self, object_id: str) -> Obj | None:
        data = DemoObject.objects.filter(object_id=object_id).values_list("data", flat=True)
        found = next(iter(data[:1]), None)  # the data alone, unordered: one row at most
        return dict(found) if found is not None else None

    def put(self, obj: Obj) -> None:
        DemoObject.objects.update_or_create(
            object_id=obj["id"], defaults={"object_type": obj["object"], "data": obj}
        )

    def scan(self, object_type: str, *, start: int = 0) -> list[Obj]:
        rows = DemoObject.objects.filter(object_type=object_type).order_by("pk")[start:]
        return [dict(data) for data in rows.values_list("data", flat=True)]

    def count(self, object_type: str) -> int:
        return DemoObject.objects.filter(object_type=object_type).count()

    def delete(self, object_id: str) -> None:
        DemoObject.objects.filter(object_id=object_id).delete()

    @contextmanager
    def locked(self) -> Iterator[None]:
        with transaction.atomic():
            lock = DemoObject.objects.select_for_update().filter(object_id=LOCK_ID)
            if not lock.values_list("pk", flat=True):  # the first step ever: make the row
                DemoObject.objects.get_or_create(
                    object_id=LOCK_ID, defaults={"object_type": "emulator.lock", "data": {}}
                )
                list(lock.values_list("pk", flat=True))
            yield


def _delivered_types() -> set[str]:
    from payments.event_handlers import HANDLERS

    return set(HANDLERS)


def _deliver(event: Obj) -> None:
    """Hand a handled event to the webhook intake, signed, once the emulator's step commits."""
    if event["type"] not in _delivered_types():
        return
    payload = event_payload(event)

    def post() -> None:
        from payments.webhooks import webhook_event_receive

        signature = signature_header(payload=payload, secret=settings.PAYMENTS_DEMO_WEBHOOK_SECRET)
        webhook_event_receive(payload=payload, signature=signature)

    transaction.on_commit(post)


def _step_undone_whole(error: BaseException) -> bool:
    """Say whether a deadlock undid the whole step (it was its own transaction), not a caller's."""
    return is_deadlock(error) and not transaction.get_connection().in_atomic_block


def demo_emulator() -> Emulator:
    """Return the demo's emulator (its state is in the database; cheap to make per use)."""
    emulator = Emulator(
        store=DemoStore(),
        webhook_secret=settings.PAYMENTS_DEMO_WEBHOOK_SECRET,
        on_event=_deliver,
        id_tag="demo",
        # Its state is in our database, in our transaction: a deadlock there is ours. A step
        # that was its own transaction runs again; one inside a webhook chunk reaches the worker
        # as a deadlock, and the event is applied again by the next chunk.
        store_errors=(DatabaseError,),
        store_error_retryable=_step_undone_whole,
    )
    if not DemoObject.objects.filter(object_type="billing_portal.configuration").exists():
        # What `stripe_setup` does for a real account: the Billing Portal's configuration.
        api_call(
            emulator,
            "POST",
            "/v1/billing_portal/configurations",
            {
                "features": {
                    "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
                    "payment_method_update": {"enabled": True},
                    "invoice_history": {"enabled": True},
                },
            },
        )
    return emulator


def demo_object_load(object_id: str) -> Obj:
    """Return one of the demo's Stripe objects as stored (for checks and the demo's pages)."""
    row = DemoObject.objects.filter(object_id=object_id).first()
    if row is None:
        raise GatewayError(f"No such object: {object_id}")
    data: Obj = row.data
    return data


def demo_personal_data_erase(*, email: str) -> int:
    """Delete every demo Stripe object that holds `email` or belongs to its customers; return
    how many were deleted. (Stripe keeps its own records; the demo's are ours to erase.)

    Objects that name the address (customers, sessions, payment methods, charges, invoices, the
    events carrying them) go, and with them everything tied to those customers.
    """
    email = email.strip()
    if not email:
        return 0
    as_text = DemoObject.objects.annotate(text=Cast("data", TextField()))
    holding = as_text.filter(text__icontains=f'"{email}"')
    customers = [
        object_id
        for object_id, kind in holding.values_list("object_id", "object_type")
        if kind == "customer"
    ]
    tied = Q(pk__in=holding.values("pk"))
    for customer in customers:
        tied |= Q(text__contains=f'"{customer}"')
    deleted, _ = as_text.filter(tied).exclude(object_id=LOCK_ID).delete()
    return deleted
