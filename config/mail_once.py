"""Mail that must go out once (receipts, failure notices, prize claim mails), crash-safe.

One order for every such mail, whatever ledger row records it:

1. **Claim** the send in its own committed transaction (the row's "claimed at" set while its
   "sent at" is empty and no live claim holds it). A second worker, a task delivered twice or
   the sweep finds the claim and sends nothing.
2. **Send**, with a `Message-ID` derived from what the mail is about (`message_id`), so that the
   one resend the order cannot rule out (the sending process dies after the mail server took the
   message and before step 3) is the same message, recognisable by mail clients and by people.
3. **Mark sent**, retried through a database blip: the process that sent knows it did.

Where it crashes:
- before the claim commits: nothing was sent; the task's retry or the sweep sends.
- after the claim, before the mail server took the message: the claim expires after
  `MAIL_CLAIM_SECONDS`; then a retry or the sweep sends (late, not lost).
- the mail server refuses: the claim is released at once for the task's retry.
- after the mail server took it, before "sent" is recorded: the same process retries the mark
  (the database restarting is the usual cause); only if the process itself dies does the mail go
  again after the claim expires, under the same Message-ID.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)

MARK_ATTEMPTS = 8  # about 30 s of retries: a database restart


@dataclass(frozen=True)
class SendSlot:
    """The ledger row that records one mail: `row` selects it (with any condition the mail
    needs, e.g. the payment still succeeded); the two fields hold when it was claimed and sent."""

    row: QuerySet[Any]
    claimed_field: str
    sent_field: str

    def release(self, claimed_at: datetime) -> None:
        """Free the claim taken at `claimed_at`, unless the mail was marked sent meanwhile."""
        unsent = {self.claimed_field: claimed_at, f"{self.sent_field}__isnull": True}
        self.row.filter(**unsent).update(**{self.claimed_field: None})

    def mark_sent(self, claimed_at: datetime) -> None:
        """Record the send of the claim taken at `claimed_at` (commits on its own)."""
        mine = self.row.filter(**{self.claimed_field: claimed_at})
        mine.update(**{self.sent_field: timezone.now()})


@dataclass(frozen=True)
class RowSendSlot:
    """A ledger row named by its model and id, released and marked in hand-written SQL: for a
    ledger with a row per mail that a worker marks tens of times a second (receipts), where
    building the ORM's UPDATE took longer than PostgreSQL's answer. Its ledger claims it in a
    statement of its own (then `mail_send_claimed`)."""

    model: type[models.Model]
    pk: int
    claimed_field: str
    sent_field: str

    def release(self, claimed_at: datetime) -> None:
        claimed, sent = self._column(self.claimed_field), self._column(self.sent_field)
        self._execute(
            f"UPDATE {self.model._meta.db_table} SET {claimed} = NULL "  # noqa: S608 - our names
            f"WHERE id = %s AND {claimed} = %s AND {sent} IS NULL",
            [self.pk, self._time(self.claimed_field, claimed_at)],
        )

    def mark_sent(self, claimed_at: datetime) -> None:
        claimed, sent = self._column(self.claimed_field), self._column(self.sent_field)
        self._execute(
            f"UPDATE {self.model._meta.db_table} SET {sent} = %s "  # noqa: S608 - our names
            f"WHERE id = %s AND {claimed} = %s",
            [
                self._time(self.sent_field, timezone.now()),
                self.pk,
                self._time(self.claimed_field, claimed_at),
            ],
        )

    def _field(self, name: str) -> models.Field[Any, Any]:
        field = self.model._meta.get_field(name)
        assert isinstance(field, models.Field)
        return field

    def _column(self, name: str) -> str:
        return connection.ops.quote_name(str(self._field(name).column))

    def _time(self, name: str, value: datetime) -> Any:
        """`value` as the field stores it (SQLite keeps times as text in its own format)."""
        return self._field(name).get_db_prep_save(value, connection)

    @staticmethod
    def _execute(sql: str, params: list[Any]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def message_id(*, kind: str, key: object) -> str:
    """Return the Message-ID of the mail of `kind` about `key`: the same for every attempt."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<{kind}.{key}@{domain}>"


def mail_send_once(*, slot: SendSlot, send: Callable[[], object]) -> bool:
    """Claim, send and mark one mail (see the module); return whether it was sent now.

    `send` hands the message, with its deterministic Message-ID, to the mail server. An OSError
    from it releases the claim and is raised for the task's retry.
    """
    claimed_at = _claim(slot)
    if claimed_at is None:
        return False
    mail_send_claimed(slot=slot, claimed_at=claimed_at, send=send)
    return True


def mail_send_claimed(
    *, slot: SendSlot | RowSendSlot, claimed_at: datetime, send: Callable[[], object]
) -> None:
    """Send and mark one mail whose slot the caller claimed at `claimed_at` (steps 2 and 3),
    as `mail_send_once` does after its own claim: for a ledger that creates and claims its row
    in one statement."""
    try:
        send()
    except OSError:
        try:
            slot.release(claimed_at)
        except (OperationalError, InterfaceError):
            logger.warning("could not release a mail claim; it expires", exc_info=True)
        raise
    _mark_sent(slot, claimed_at)


def claim_must_commit() -> None:
    """Refuse to claim inside a caller's transaction, as `transaction.atomic(durable=True)`
    does (a test case's own transaction aside): a claim that commits with the caller, after the
    send, claims nothing. For a ledger claiming in one autocommitted statement, where a durable
    block would add a BEGIN and a COMMIT round trip to each mail."""
    blocks = connection.atomic_blocks
    if blocks and not getattr(blocks[-1], "_from_testcase", False):
        raise RuntimeError("a mail's claim must commit before its send: not inside a transaction")


def _claim(slot: SendSlot) -> datetime | None:
    """Take the slot if nobody sent it and no live claim holds it; return the claim's time."""
    now = timezone.now()
    expired = now - timedelta(seconds=settings.MAIL_CLAIM_SECONDS)
    free = Q(**{f"{slot.claimed_field}__isnull": True}) | Q(
        **{f"{slot.claimed_field}__lt": expired}
    )
    with transaction.atomic(durable=True):  # refuses to run inside a caller's transaction
        taken = slot.row.filter(free, **{f"{slot.sent_field}__isnull": True}).update(
            **{slot.claimed_field: now}
        )
    if taken > 1:  # pragma: no cover - a slot selects one row
        raise RuntimeError("a mail slot selected more than one row")
    return now if taken else None


def _mark_sent(slot: SendSlot | RowSendSlot, claimed_at: datetime) -> None:
    """Record the send; through a database restart, try again rather than send again later."""
    for attempt in range(MARK_ATTEMPTS):
        try:
            slot.mark_sent(claimed_at)  # commits on its own (autocommit)
            return
        except (OperationalError, InterfaceError):
            if attempt == MARK_ATTEMPTS - 1:
                raise
            logger.warning("could not record a sent mail; trying again", exc_info=True)
            connection.close()  # a new connection next time, once the database is back
            time.sleep(min(2**attempt * 0.25, 8))
