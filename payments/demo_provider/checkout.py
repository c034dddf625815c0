"""The demo checkout page's logic: the reader pays the emulator's Checkout Session with one of
Stripe's test cards (or test IBANs), and the emulator plays what Stripe does next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from payments.demo_provider.store import demo_emulator
from stripe_emulator import ResourceMissing
from stripe_emulator.api.checkout import session_redirect_url
from stripe_emulator.flows import cards
from stripe_emulator.flows.checkout import session_pay

UNKNOWN_CARD = (
    "This demo accepts only Stripe's test cards, e.g. 4242 4242 4242 4242 (succeeds) or "
    "4000 0000 0000 0002 (declined)."
)


@dataclass(frozen=True)
class DemoOutcome:
    """What the demo checkout page does next: go on, ask for authentication, or show an error."""

    redirect_url: str = ""
    error: str = ""
    needs_authentication: bool = False


def demo_checkout_session(*, session_id: str) -> dict[str, Any] | None:
    """Return what the demo checkout page shows of a session, or None if there is none."""
    try:
        session = demo_emulator().get(session_id, "checkout.session")
    except ResourceMissing:
        return None
    price = session["_line_items"][0]["price"]
    return {
        "id": session["id"],
        "amount_total": session["amount_total"],
        "currency": session["currency"],
        "mode": session["mode"],
        "status": session["status"],
        "recurring_interval": (price.get("recurring") or {}).get("interval"),
    }


def demo_checkout_pay(*, session_id: str, card_number: str) -> DemoOutcome:
    """Pay a demo checkout session with one of Stripe's test card numbers."""
    emulator = demo_emulator()
    with emulator.step():
        session = emulator.get(session_id, "checkout.session")
        if session["status"] == "complete":
            return DemoOutcome(redirect_url=session_redirect_url(session))
        if cards.method_lookup(card_number) is None:
            return DemoOutcome(error=UNKNOWN_CARD)
        outcome = session_pay(emulator, session_id=session_id, number=card_number)
        if outcome.needs_authentication:
            session["_awaiting_authentication"] = True
            emulator.save(session)
            return DemoOutcome(needs_authentication=True)
    if outcome.error:
        return DemoOutcome(error=f"{outcome.error} Try another card.")
    return DemoOutcome(redirect_url=session_redirect_url(session))


def demo_checkout_authenticate(*, session_id: str, approve: bool) -> DemoOutcome:
    """Finish (or fail) the 3-D Secure step of a demo checkout."""
    emulator = demo_emulator()
    with emulator.step():
        session = emulator.get(session_id, "checkout.session")
        if session["status"] == "complete":
            return DemoOutcome(redirect_url=session_redirect_url(session))
        if not session.get("_awaiting_authentication"):
            return DemoOutcome(error="This payment does not need authentication.")
        session["_awaiting_authentication"] = False
        emulator.save(session)
        if not approve:
            return DemoOutcome(error="Authentication failed, so nothing was charged. Try again.")
        outcome = session_pay(
            emulator, session_id=session_id, number=cards.AUTHENTICATE, authenticated=True
        )
    if outcome.error:
        return DemoOutcome(error=outcome.error)
    return DemoOutcome(redirect_url=session_redirect_url(session))
