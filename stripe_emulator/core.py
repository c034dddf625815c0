"""The emulator's state: objects, clock, account, events and the balance.

`Emulator` is the one object tests and the demo hold. API requests (`api.dispatch`) and flows
(`stripe_emulator.flows.*`) change its objects through `save`/`create` and announce changes with
`emit`, which records the event and hands it to every `on_event` sink (the demo provider's sink
posts it, signed, to the webhook intake).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from stripe_emulator.objects import API_VERSION, Obj, id_new, object_new, public
from stripe_emulator.store import MemoryStore, Store, tree_copy

DEFAULT_WEBHOOK_SECRET = "whsec_emulator_" + "0" * 32
ACCOUNT_ID = "acct_1EmulatorAccount0000"
CLOCK_ID = "emulator_clock"
SETTLED_ID = "emulator_settled"
# Exchange rates the emulator settles with (units of the second currency per unit of the first).
FX_RATES: dict[tuple[str, str], float] = {
    ("eur", "gbp"): 0.8612,
    ("gbp", "eur"): 1.1611,
    ("usd", "eur"): 0.9234,
    ("usd", "gbp"): 0.7952,
    ("eur", "usd"): 1.0829,
    ("gbp", "usd"): 1.2575,
}

EventSink = Callable[[Obj], None]


class ResourceMissing(Exception):
    """No object with that id (Stripe answers 404 `resource_missing`)."""

    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"No such {kind}: '{object_id}'")
        self.kind = kind
        self.object_id = object_id


class Emulator:
    """Stripe's state for one account, with a clock that tests can move on.

    `latency` is slept (outside any lock) before each API request is answered, to stand for
    Stripe's network round trip. `default_currency` is the account's settlement currency;
    charges in another currency not listed in `settlement_currencies` are converted at
    `FX_RATES` when they reach the balance.
    """

    def __init__(
        self,
        *,
        store: Store | None = None,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        latency: float = 0.0,
        default_currency: str = "eur",
        settlement_currencies: tuple[str, ...] = (),
        on_event: EventSink | None = None,
        id_tag: str = "",
        store_errors: tuple[type[BaseException], ...] = (),
        store_error_retryable: Callable[[BaseException], bool] = lambda error: False,
    ) -> None:
        self.store: Store = store if store is not None else MemoryStore()
        # Errors of a store kept in the caller's own database (the demo's, in process): they
        # are the caller's failures, raised to it, not answered as Stripe failing (a 500).
        self.store_errors = store_errors
        # Whether such an error undid the whole step, so that running it again is safe.
        self.store_error_retryable = store_error_retryable
        self.webhook_secret = webhook_secret
        self.latency = latency
        self.default_currency = default_currency
        self.settlement_currencies = {default_currency, *settlement_currencies}
        self.sinks: list[EventSink] = [on_event] if on_event is not None else []
        clock = self.store.get(CLOCK_ID)  # shared by every process on the same store
        self.clock_offset = int(clock["offset"]) if clock else 0
        self.id_tag = id_tag  # marks every id (the demo's are `..._demo_...`)
        # Where hosted Checkout pages are served (the HTTP server's own page); None: Stripe's.
        self.checkout_page_base: str | None = None
        # The API request being answered, if any: events it causes carry its id and key.
        self.request_context: dict[str, str | None] = {"id": None, "idempotency_key": None}

    # --- time ------------------------------------------------------------------------------

    def now(self) -> int:
        """Return the emulator's time, Unix seconds (real time plus what `advance` added)."""
        return int(time.time()) + self.clock_offset

    def advance(self, *, days: float = 0, seconds: int = 0) -> None:
        """Move the clock on: balance transactions that became available turn available, and
        Checkout Sessions past their expiry expire."""
        with self.step():
            clock = self.store.get(CLOCK_ID)
            self.clock_offset = (int(clock["offset"]) if clock else 0) + int(days * 86400) + seconds
            self.save({"id": CLOCK_ID, "object": "emulator.clock", "offset": self.clock_offset})
            self._balance_settle()
            self._sessions_expire()

    @contextmanager
    def step(self) -> Iterator[None]:
        """Run one atomic change (inside the store's lock), with the balance brought up to date."""
        with self.store.locked():
            self._balance_settle()
            yield

    @contextmanager
    def read_step(self) -> Iterator[None]:
        """Run a read that changes nothing without the store's lock, which makes every step wait
        for the others (the demo's is a row lock that a webhook worker's transaction holds until
        it commits); as a step only when the balance must be brought up to date first."""
        if self._balance_settled():
            yield
        else:
            with self.step():
                yield

    # --- objects ---------------------------------------------------------------------------

    def get(self, object_id: str, kind: str | None = None) -> Obj:
        """Return the stored object (with internal keys), or raise `ResourceMissing`."""
        found = self.store.get(object_id)
        if found is None or (kind is not None and found.get("object") != kind):
            raise ResourceMissing(kind or "object", object_id)
        return found

    def find(self, kind: str, **equal: Any) -> list[Obj]:
        """Return the objects of `kind` whose fields equal `equal`, oldest first."""
        return [
            obj
            for obj in self.store.scan(kind)
            if all(obj.get(field) == value for field, value in equal.items())
        ]

    def save(self, obj: Obj) -> Obj:
        self.store.put(obj)
        return obj

    def create(self, kind: str, **fields: Any) -> Obj:
        """Create, store and return a new object of `kind` (Stripe's example plus `fields`)."""
        return self.save(object_new(kind, created=self.now(), tag=self.id_tag, **fields))

    def account(self) -> Obj:
        """Return the account (created on first use with the emulator's currency)."""
        found = self.store.get(ACCOUNT_ID)
        if found is not None:
            return found
        account = object_new("account", created=self.now(), default_currency=self.default_currency)
        account["id"] = ACCOUNT_ID
        account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
        return self.save(account)

    # --- events ----------------------------------------------------------------------------

    def emit(self, event_type: str, obj: Obj, *, previous: Obj | None = None) -> Obj:
        """Record an event about `obj` as it is now and hand it to the sinks.

        `previous` holds the earlier values of the fields that changed (`*.updated` events
        carry them as `data.previous_attributes`).
        """
        data: Obj = {"object": public(obj)}
        if previous is not None:
            data["previous_attributes"] = public(previous)
        event = object_new(
            "event",
            created=self.now(),
            tag=self.id_tag,
            api_version=API_VERSION,
            data=data,
            type=event_type,
            pending_webhooks=1,
            request=dict(self.request_context),
        )
        self.save(event)
        rendered: Obj = public(event)
        for sink in self.sinks:
            sink(tree_copy(rendered))
        return rendered

    def events(self, *, since: int = 0) -> list[Obj]:
        """Return the events recorded (from mark `since` on), in the order Stripe made them."""
        # Only the events asked for are copied: a long run has many.
        return [public(event) for event in self.store.scan("event", start=since)]

    def events_mark(self) -> int:
        """Return a mark for `events(since=...)`: the number of events recorded so far."""
        return self.store.count("event")

    # --- balance ---------------------------------------------------------------------------

    def balance(self) -> dict[str, dict[str, int]]:
        """Return {currency: {"available": minor, "pending": minor}} from balance transactions."""
        totals: dict[str, dict[str, int]] = {}
        for txn in self.store.scan("balance_transaction"):
            row = totals.setdefault(txn["currency"], {"available": 0, "pending": 0})
            row["available" if txn["status"] == "available" else "pending"] += txn["net"]
        return totals

    def _balance_settle(self) -> None:
        """Make pending balance transactions whose day has come available.

        Every step calls this, so it only scans when something can have changed: a balance
        transaction was added (the count moved) or the clock reached the earliest pending one.
        What it saw last is kept in the store (`SETTLED_ID`), not in this object: the demo
        makes an emulator per use on a store every process shares, and one that started from
        nothing read every balance transaction ever made on each API call.
        """
        if self._balance_settled():
            return
        now = self.now()
        count = self.store.count("balance_transaction")
        seen_count, seen_due = self._settled_seen()
        # Transactions are only added (the demo's erasure may remove some: then all are looked
        # at again); when none became due, only the new ones are looked at.
        fresh = 0 <= seen_count <= count and now < seen_due
        next_due = seen_due if fresh else float("inf")
        start = seen_count if fresh else 0
        for txn in self.store.scan("balance_transaction", start=start):
            if txn["status"] != "pending":
                continue
            if txn["available_on"] <= now:
                txn["status"] = "available"
                self.save(txn)
            else:
                next_due = min(next_due, txn["available_on"])
        self.save(
            {
                "id": SETTLED_ID,
                "object": "emulator.settled",
                "count": count,
                "next_due": None if next_due == float("inf") else next_due,
            }
        )

    def _settled_seen(self) -> tuple[int, float]:
        """What `_balance_settle` saw last: the count, and when the next pending one is due."""
        seen = self.store.get(SETTLED_ID) or {"count": -1, "next_due": None}
        due = float("inf") if seen["next_due"] is None else float(seen["next_due"])
        return int(seen["count"]), due

    def _balance_settled(self) -> bool:
        """Whether the balance is up to date: no transaction added, none come due since."""
        seen_count, seen_due = self._settled_seen()
        return self.store.count("balance_transaction") == seen_count and self.now() < seen_due

    def _sessions_expire(self) -> None:
        """Checkout Sessions left open past `expires_at` expire (`checkout.session.expired`)."""
        from stripe_emulator.api.checkout import checkout_session_expire

        now = self.now()
        for session in self.store.scan("checkout.session"):
            if session["status"] == "open" and session["expires_at"] <= now:
                checkout_session_expire(self, session_id=session["id"])

    def fx_rate(self, source: str, target: str) -> float:
        return 1.0 if source == target else FX_RATES[(source, target)]


def request_id_new() -> str:
    return id_new("req")
