"""The emulator's API answers as Stripe does: through the real stripe library, in process and
over HTTP."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import stripe

from stripe_emulator import Emulator, EmulatorHttpClient, deliveries, signature_header
from stripe_emulator.api import api_call
from stripe_emulator.flows import cards, checkout
from stripe_emulator.scenarios import checkout_session_new, one_off_paid
from stripe_emulator.server import EmulatorServer
from stripe_emulator.store import MemoryStore
from stripe_emulator.wsgi import wsgi_app

API_VERSION = "2026-10-28.endive"


def _client(emulator: Emulator) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_emulator",
        stripe_version=API_VERSION,
        http_client=EmulatorHttpClient(emulator),
        max_network_retries=0,
    )


def test_unknown_ids_get_stripes_error_shape() -> None:
    client = _client(Emulator())
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.retrieve("pi_missing")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert raised.value.user_message == "No such payment_intent: 'pi_missing'"


def test_idempotency_key_replays_the_first_answer_and_refuses_other_params() -> None:
    emulator = Emulator()
    client = _client(emulator)
    charge = one_off_paid(emulator)
    params: stripe.params.RefundCreateParams = {"charge": charge["id"], "amount": 100}
    first = client.v1.refunds.create(params, {"idempotency_key": "refund-1"})
    again = client.v1.refunds.create(params, {"idempotency_key": "refund-1"})
    assert again.id == first.id
    assert len(emulator.find("refund")) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create(
            {"charge": charge["id"], "amount": 200}, {"idempotency_key": "refund-1"}
        )


def test_lists_filter_page_and_expand_nested() -> None:
    emulator = Emulator()
    client = _client(emulator)
    charges = [one_off_paid(emulator, amount=1000 + i) for i in range(5)]
    listed = client.v1.charges.list({"limit": 2, "expand": ["data.balance_transaction"]})
    assert len(listed.data) == 2 and listed.has_more
    balance = listed.data[0].balance_transaction
    assert isinstance(balance, stripe.BalanceTransaction) and balance.fee > 0  # not an id
    every = list(listed.auto_paging_iter())
    assert sorted(c.id for c in every) == sorted(c["id"] for c in charges)
    created = charges[0]["created"]
    assert (
        len(client.v1.charges.list({"created": {"gte": created, "lt": created + 3600}}).data) == 5
    )
    assert client.v1.charges.list({"created": {"lt": created}}).data == []
    refunds = client.v1.refunds.list({"charge": charges[0]["id"]})
    assert refunds.data == []
    client.v1.refunds.create({"charge": charges[0]["id"]})
    assert len(client.v1.refunds.list({"charge": charges[0]["id"]}).data) == 1
    txns = client.v1.balance_transactions.list({"expand": ["data.source"]})
    assert {getattr(t.source, "object", None) for t in txns.data} == {"charge", "refund"}
    customers = client.v1.customers.list({"email": "reader@example.org"})
    assert len(customers.data) == 5


def test_a_charge_has_no_refunds_unless_expanded() -> None:
    emulator = Emulator()
    client = _client(emulator)
    charge = one_off_paid(emulator)
    client.v1.refunds.create({"charge": charge["id"], "amount": 100})
    assert "refunds" not in client.v1.charges.retrieve(charge["id"])
    expanded = client.v1.charges.retrieve(charge["id"], {"expand": ["refunds"]})
    assert expanded.refunds is not None and expanded.refunds.data[0].amount == 100


def test_expand_goes_through_a_list_to_its_items() -> None:
    """`data.refunds.data.balance_transaction` (four levels, Stripe's most) reaches the refunds'
    balance transactions, as the backfill asks."""
    emulator = Emulator()
    client = _client(emulator)
    charge = one_off_paid(emulator)
    client.v1.refunds.create({"charge": charge["id"], "amount": 100})

    listed = client.v1.charges.list({"expand": ["data.refunds.data.balance_transaction"]})

    refunds = listed.data[0].refunds
    assert refunds is not None
    txn = refunds.data[0].balance_transaction
    assert isinstance(txn, stripe.BalanceTransaction) and txn.amount == -100
    with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded"):
        client.v1.charges.list({"expand": ["data.refunds.balance_transaction"]})


def test_latency_is_spent_on_every_call() -> None:
    import time

    emulator = Emulator(latency=0.05)
    client = _client(emulator)
    started = time.monotonic()
    for _ in range(4):
        client.v1.balance.retrieve()
    assert time.monotonic() - started >= 0.2


def test_balance_follows_the_money() -> None:
    emulator = Emulator()
    charge = one_off_paid(emulator, amount=1000)
    txn = emulator.get(charge["balance_transaction"])
    assert emulator.balance() == {"eur": {"available": 0, "pending": txn["net"]}}
    emulator.advance(days=2)
    assert emulator.balance() == {"eur": {"available": txn["net"], "pending": 0}}
    api_call(emulator, "POST", "/v1/refunds", {"charge": charge["id"], "amount": 400})
    assert emulator.balance()["eur"]["available"] == txn["net"] - 400


def test_deliveries_sign_as_stripe_and_take_its_freedoms() -> None:
    emulator = Emulator(webhook_secret="whsec_test")
    session = checkout_session_new(emulator)
    events = checkout.session_pay(emulator, session_id=session["id"], number=cards.SUCCESS).events
    sent = deliveries(
        events,
        secret="whsec_test",
        order="shuffled",
        duplicates=2,
        seed=3,
        late=("checkout.session.completed",),
        timestamp=1_800_000_000,
    )
    assert len(sent) == len(events) + 2
    assert (
        sent[-1].type == "checkout.session.completed"
        or sent[-2].type == "checkout.session.completed"
    )
    assert [d.type for d in sent] != [e["type"] for e in events]
    for item in sent:
        stripe.WebhookSignature.verify_header(
            item.payload.decode(), item.signature, "whsec_test", tolerance=None
        )
    assert sent[0].signature == signature_header(
        payload=sent[0].payload, secret="whsec_test", timestamp=1_800_000_000
    )


@pytest.fixture(name="server")
def server_fixture() -> Iterator[tuple[Emulator, str]]:
    emulator = Emulator()
    httpd = EmulatorServer(wsgi_app(emulator)).serve_in_background()
    yield emulator, f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_the_http_server_keeps_a_connection_open_between_requests_as_stripe_does(
    server: tuple[Emulator, str],
) -> None:
    _, base = server
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=5)
    headers = {"Authorization": "Bearer sk_test_emulator"}
    sockets = []
    for _ in range(3):
        connection.request("GET", "/v1/customers?limit=1", headers=headers)
        response = connection.getresponse()
        assert response.status == 200
        assert response.version == 11
        response.read()
        sockets.append(connection.sock)
    # One socket throughout: a server that closed it after an answer makes the client reconnect.
    assert sockets[0] is not None and all(sock is sockets[0] for sock in sockets)
    connection.request("POST", "/v1/customers", body="email=a%40example.org", headers=headers)
    answer = connection.getresponse()
    assert answer.status == 200, answer.read()
    assert b'"email": "a@example.org"' in answer.read().replace(b'":"', b'": "')
    connection.close()


def test_the_http_server_answers_the_stripe_library(server: tuple[Emulator, str]) -> None:
    emulator, base = server
    client = stripe.StripeClient(
        "sk_test_emulator", stripe_version=API_VERSION, base_addresses={"api": base}
    )
    customer = client.v1.customers.create({"email": "reader@example.org"})
    assert emulator.get(customer.id)["email"] == "reader@example.org"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.retrieve("cus_missing")
    live = stripe.StripeClient(
        "sk_live_x", stripe_version=API_VERSION, base_addresses={"api": base}
    )
    with pytest.raises(stripe.AuthenticationError):
        live.v1.customers.list()


class StoreFailed(Exception):
    """What a store kept in the caller's own database raises when that database fails."""


class FailingStore(MemoryStore):
    @contextmanager
    def locked(self) -> Iterator[None]:
        raise StoreFailed("deadlock detected")
        yield


def test_a_failure_of_the_emulators_own_code_is_stripes_500() -> None:
    client = _client(Emulator(store=FailingStore()))

    with pytest.raises(stripe.APIError) as raised:
        client.v1.payment_intents.retrieve("pi_any")

    assert raised.value.http_status == 500


def test_a_failure_of_a_store_in_the_callers_database_reaches_the_caller() -> None:
    # In process, the demo keeps Stripe's state in our own database, inside our transaction:
    # a deadlock there is ours, and the webhook worker must see it as one (and apply the event
    # again at once), not as Stripe failing.
    client = _client(Emulator(store=FailingStore(), store_errors=(StoreFailed,)))

    with pytest.raises(StoreFailed):
        client.v1.payment_intents.retrieve("pi_any")


class FailingOnce(MemoryStore):
    """A store whose first step fails the way a deadlock undoes a whole transaction."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    @contextmanager
    def locked(self) -> Iterator[None]:
        if self.failures:
            self.failures -= 1
            raise StoreFailed("deadlock detected")
        with super().locked():
            yield


def test_a_step_the_store_says_may_run_again_is_run_again() -> None:
    emulator = Emulator(
        store=FailingOnce(), store_errors=(StoreFailed,), store_error_retryable=lambda e: True
    )

    customer = _client(emulator).v1.customers.create({"email": "a@example.org"})

    assert customer.email == "a@example.org"
    assert len(emulator.find("customer")) == 1
