"""A Stripe emulator: Stripe's API and webhook events for one account, offline.

It keeps Stripe objects in the shapes of the pinned API version (built from Stripe's published
example objects, `objects.py`), answers the API calls the service makes (`api/`), and plays
Stripe's flows (`flows/`) with the event sequences Stripe sends. The demo payment provider runs
on it, and the tests build their events with it. Nothing here imports Django.

Using it (tests, the demo)::

    from stripe_emulator import Emulator, EmulatorHttpClient, deliveries
    from stripe_emulator.flows import checkout, invoices, refunds

    emulator = Emulator(webhook_secret="whsec_...", latency=0.0)
    client = stripe.StripeClient("sk_test_x", http_client=EmulatorHttpClient(emulator))
    # ... the service creates a Checkout Session through `client` (POST /v1/checkout/sessions)
    outcome = checkout.session_pay(emulator, session_id=session_id, number="4242424242424242")
    outcome.events                      # the events Stripe sends for it, in Stripe's order
    for item in deliveries(outcome.events, secret=emulator.webhook_secret, order="shuffled",
                           duplicates=2, seed=1):
        post_to_webhook(item.payload, item.signature)
    invoices.subscription_renew(emulator, subscription_id=..., fail=False)  # -> events
    refunds.refund_create(emulator, charge_id=..., amount=500)  # a Dashboard refund
    emulator.balance()                  # {"eur": {"available": ..., "pending": ...}}
    emulator.advance(days=3)            # the clock; pending money becomes available

`Emulator(on_event=fn)` hands every event to `fn` as it happens (the demo delivers them to the
webhook intake that way). `Emulator(store=...)` keeps the objects elsewhere (the demo keeps them
in the database); the default is memory. As a server: `python -m stripe_emulator --port N`
(point `STRIPE_API_BASE` at it).

Adding a flow: a module under `flows/` with functions `<thing>_<verb>(emulator, *, ...)` that run
inside `with emulator.step():`, change objects with `emulator.create`/`save`, announce each
change with `emulator.emit(type, obj, previous=...)` and return `emulator.events(since=mark)`.
Adding endpoints: a module under `api/` registering with `route(...)` or `resource(...)`, imported
in `api/__init__.py`. The shape check test covers new object types, events and flows by itself.
"""

from stripe_emulator.core import DEFAULT_WEBHOOK_SECRET, Emulator, ResourceMissing
from stripe_emulator.delivery import Delivery, deliver, deliveries, event_payload, signature_header
from stripe_emulator.http_client import EmulatorHttpClient
from stripe_emulator.objects import API_VERSION
from stripe_emulator.store import MemoryStore, Store

__all__ = [
    "API_VERSION",
    "DEFAULT_WEBHOOK_SECRET",
    "Delivery",
    "Emulator",
    "EmulatorHttpClient",
    "MemoryStore",
    "ResourceMissing",
    "Store",
    "deliver",
    "deliveries",
    "event_payload",
    "signature_header",
]
