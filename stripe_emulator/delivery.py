"""Webhook deliveries: events signed as Stripe signs them, with Stripe's ordering freedom.

Stripe does not promise order or uniqueness: an event may arrive before the one that caused it,
twice, or hours late. `deliveries` turns the events a flow produced into what an endpoint may
receive; `signature_header` is Stripe's `Stripe-Signature` (`t=...,v1=HMAC-SHA256`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from stripe_emulator.objects import Obj


def event_payload(event: Obj) -> bytes:
    """Return the body Stripe posts for `event` (JSON)."""
    return json.dumps(event, separators=(",", ":")).encode()


def signature_header(*, payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Return the `Stripe-Signature` header for `payload` signed with `secret` at `timestamp`."""
    signed_at = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{signed_at}.".encode() + payload, hashlib.sha256)
    return f"t={signed_at},v1={digest.hexdigest()}"


@dataclass(frozen=True)
class Delivery:
    """One POST to the webhook endpoint: the event, its body and its signature header."""

    event: Obj
    payload: bytes
    signature: str

    @property
    def type(self) -> str:
        return str(self.event["type"])


def deliveries(
    events: Iterable[Obj],
    *,
    secret: str,
    order: str = "sent",
    duplicates: int = 0,
    late: Sequence[str] = (),
    seed: int | None = None,
    timestamp: int | None = None,
) -> list[Delivery]:
    """Return the deliveries of `events` as an endpoint may receive them.

    `order`: "sent" (as produced), "reversed", or "shuffled". `duplicates`: that many events
    (chosen at random) are delivered a second time, later. `late`: events of these types come
    after all the others (e.g. `checkout.session.completed` last). `seed` makes it repeatable.
    """
    chooser = random.Random(seed)  # noqa: S311 - test ordering, not secrets
    ordered = list(events)
    if order == "reversed":
        ordered.reverse()
    elif order == "shuffled":
        chooser.shuffle(ordered)
    elif order != "sent":
        raise ValueError(f"unknown order {order!r}")
    ordered = [e for e in ordered if e["type"] not in late] + [
        e for e in ordered if e["type"] in late
    ]
    for event in chooser.sample(ordered, min(duplicates, len(ordered))):
        position = chooser.randint(ordered.index(event) + 1, len(ordered))
        ordered.insert(position, event)
    result = []
    for event in ordered:
        payload = event_payload(event)
        header = signature_header(payload=payload, secret=secret, timestamp=timestamp)
        result.append(Delivery(event=event, payload=payload, signature=header))
    return result


def deliver(items: Iterable[Delivery], post: Callable[[bytes, str], Any]) -> list[Any]:
    """Post each delivery with `post(payload, signature)`; return what each post returned."""
    return [post(item.payload, item.signature) for item in items]
