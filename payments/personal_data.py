"""Personal data the payments app holds about one e-mail address: export and erasure.

`manage.py personal_data` finds this module through `surveys.personal_data`. The address, the
names typed at checkout and what the supporter wrote (a cancellation reason) are kept in the
supporter, its contributions, receipts, sign-in links, the stored Stripe events and the demo
provider's objects; erasure anonymises the books (amounts, dates and Stripe ids stay), scrubs
the stored events' payloads and deletes the demo provider's records of the reader, so nothing
left holds the person.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from payments.demo_provider.store import demo_personal_data_erase
from payments.models import (
    Contribution,
    DemoObject,
    ReceiptSend,
    SignInLink,
    Subscription,
    Supporter,
    WebhookEvent,
)

# Keys under which Stripe objects carry a person's details (customer_details, billing_details
# and the checkout session hold these): their values are removed from stored payloads.
PERSONAL_KEYS = frozenset(
    {"email", "customer_email", "receipt_email", "name", "phone", "address", "shipping"}
)
ERASED = "[erased]"


def _supporters(email: str) -> QuerySet[Supporter]:
    return Supporter.objects.filter(email__iexact=email.strip())


def _needles(email: str, supporters: list[Supporter]) -> list[str]:
    """Return the strings that tie a stored payload to this person: the address, the names
    given, and the Stripe ids of their customer, checkouts and payments."""
    needles = {email.strip().lower()}
    contributions = Contribution.objects.filter(supporter__in=supporters)
    for supporter in supporters:
        needles.add(supporter.email.lower())
        if supporter.stripe_customer_id:
            needles.add(supporter.stripe_customer_id)
    for session, intent in contributions.values_list(
        "stripe_checkout_session_id", "stripe_payment_intent_id"
    ):
        needles.update(value for value in (session, intent) if value)
    return sorted(needles)


def _holding(queryset: QuerySet[Any], field: str, needles: list[str]) -> QuerySet[Any]:
    """Rows whose JSON `field` mentions any of the needles (compared as text)."""
    condition = Q()
    for needle in needles:
        condition |= Q(as_text__icontains=needle)
    holding: QuerySet[Any] = queryset.annotate(as_text=Cast(field, TextField())).filter(condition)
    return holding


def payload_scrub(value: Any, *, words: list[str]) -> Any:
    """Return a copy of a stored Stripe payload without the person's details: the values of
    `PERSONAL_KEYS` removed, and any other text holding one of `words` (the address, a name)
    replaced."""
    if isinstance(value, dict):
        return {
            key: None
            if key in PERSONAL_KEYS and item not in (None, "")
            else payload_scrub(item, words=words)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [payload_scrub(item, words=words) for item in value]
    if isinstance(value, str) and any(word and word in value.lower() for word in words):
        return ERASED
    return value


def personal_data_export(*, email: str) -> dict[str, Any]:
    """Return the supporter records, contributions, payments and receipts for this address,
    and the stored Stripe events and demo objects that hold it."""
    supporters = list(_supporters(email).prefetch_related("contributions__payments__receipt_sends"))
    exported = []
    for supporter in supporters:
        contributions = []
        for contribution in supporter.contributions.all():
            subscription = Subscription.objects.filter(contribution=contribution).first()
            contributions.append(
                {
                    "id": contribution.pk,
                    "name_given": contribution.name,
                    "frequency": contribution.frequency,
                    "amount_minor": contribution.amount_minor,
                    "currency": contribution.currency,
                    "status": contribution.status,
                    "created_at": contribution.created_at.isoformat(),
                    "marketing_consent": contribution.marketing_consent,
                    "marketing_consent_text": contribution.marketing_consent_text,
                    "article_url": contribution.article_url,
                    "referrer": contribution.referrer,
                    "cancel_reason": subscription.cancel_reason if subscription else "",
                    "payments": [
                        {
                            "id": payment.pk,
                            "gross_minor": payment.gross_minor,
                            "currency": payment.currency,
                            "status": payment.status,
                            "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
                            "receipts_sent_to": [r.to_email for r in payment.receipt_sends.all()],
                        }
                        for payment in contribution.payments.all()
                    ],
                }
            )
        exported.append(
            {
                "email": supporter.email,
                "name": supporter.name,
                "created_at": supporter.created_at.isoformat(),
                "contributions": contributions,
            }
        )
    needles = _needles(email, supporters)
    events = _holding(WebhookEvent.objects.all(), "payload", needles).order_by("created")
    demo = _holding(DemoObject.objects.all(), "data", needles).order_by("pk")
    return {
        "supporters": exported,
        "stripe_events": [
            {"id": e.stripe_event_id, "type": e.type, "payload": e.payload} for e in events
        ],
        "demo_provider_objects": [
            {"id": o.object_id, "type": o.object_type, "data": o.data} for o in demo
        ],
    }


@transaction.atomic
def personal_data_erase(*, email: str) -> dict[str, Any]:
    """Anonymise the supporter and scrub every stored payload that held them."""
    supporters = list(_supporters(email).select_for_update())
    needles = _needles(email, supporters)
    words = [email.strip().lower()]
    for supporter in supporters:
        words.append(supporter.email.lower())
        words.append(supporter.name.strip().lower())
        words.extend(
            name.strip().lower()
            for name in supporter.contributions.exclude(name="").values_list("name", flat=True)
        )
    words = [word for word in set(words) if len(word) >= 3]
    events = 0
    for event in _holding(WebhookEvent.objects.select_for_update(), "payload", needles):
        event.payload = payload_scrub(event.payload, words=words)
        event.save(update_fields=["payload"])
        events += 1
    # The demo provider's own records of the reader (its stand-in for what Stripe keeps).
    demo = demo_personal_data_erase(email=email)
    for supporter in supporters:
        placeholder = f"erased-{supporter.pk}@erased.invalid"
        ReceiptSend.objects.filter(payment__contribution__supporter=supporter).update(
            to_email=placeholder
        )
        Contribution.objects.filter(supporter=supporter).update(
            name="", marketing_consent=False, article_url="", referrer=""
        )
        Subscription.objects.filter(contribution__supporter=supporter).update(cancel_reason="")
        SignInLink.objects.filter(supporter=supporter).delete()
        supporter.email = placeholder
        supporter.name = ""
        supporter.save(update_fields=["email", "name", "updated_at"])
    return {
        "supporters_anonymised": len(supporters),
        "stripe_events_scrubbed": events,
        "demo_provider_objects_deleted": demo,
    }
