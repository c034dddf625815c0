"""Idempotency keys for Stripe, unique per installation and row.

Several installations (a laptop, staging, CI) may share one Stripe test account, and their row ids
overlap: with keys made of row ids alone, Stripe would answer one installation's request with the
object it made for another's row of the same id (Stripe keeps keys for 24 hours). Every key starts
with this installation's own id, made once (by a migration, or on first use) and kept in the
database, so a copy of the code pointed at another database gets another id.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from payments.models import Installation


def installation_id() -> str:
    """Return this installation's id (made on first use where the migration did not)."""
    row = Installation.objects.filter(pk=Installation.SINGLETON).first()
    if row is None:
        try:
            with transaction.atomic():
                row = Installation.objects.create(pk=Installation.SINGLETON, key=uuid.uuid4())
        except IntegrityError:  # made concurrently
            row = Installation.objects.get(pk=Installation.SINGLETON)
    return row.key.hex


def idempotency_key(*parts: object) -> str:
    """Return the key for one request about our rows, e.g. ("contribution", 12, "checkout")."""
    return "-".join([installation_id(), *(str(part) for part in parts)])
