"""The HTTP server's own pages: Checkout's hosted page (pay a session with a test card) and
`/_emulator/...` controls that play Stripe's flows, for a service pointed at the server with
`STRIPE_API_BASE` (where no test can call the flows in process).

    POST /_emulator/advance          days=3
    POST /_emulator/renew            subscription=sub_... [fail=true]
    POST /_emulator/refund           charge=ch_... [amount=500]
    POST /_emulator/dispute          charge=ch_... [inquiry=true]
    POST /_emulator/dispute_close    dispute=dp_... [won=false]
    POST /_emulator/sepa             session=cs_... [fail=true]
    POST /_emulator/payout           [currency=eur]   (paid and reconciled)
    GET  /_emulator/balance
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from stripe_emulator.api.checkout import session_redirect_url
from stripe_emulator.core import Emulator, ResourceMissing
from stripe_emulator.flows import checkout, disputes, invoices, payouts, refunds
from stripe_emulator.objects import Obj

Answer = tuple[int, str, dict[str, str] | Obj]  # status, content type, body or headers


def _flag(form: dict[str, str], name: str) -> bool:
    return form.get(name, "").lower() == "true"


def _payout(emulator: Emulator, form: dict[str, str]) -> Obj:
    created = payouts.payout_run(emulator, currency=form.get("currency") or None)
    if not created:
        return {"payout": None}
    payout_id = created[0]["data"]["object"]["id"]
    payouts.payout_paid(emulator, payout_id=payout_id)
    return {"payout": payout_id}


CONTROLS: dict[str, Callable[[Emulator, dict[str, str]], Any]] = {
    "advance": lambda e, f: e.advance(days=float(f.get("days", "1"))),
    "renew": lambda e, f: invoices.subscription_renew(
        e, subscription_id=f["subscription"], fail=_flag(f, "fail")
    ),
    "refund": lambda e, f: refunds.refund_create(
        e, charge_id=f["charge"], amount=int(f["amount"]) if f.get("amount") else None
    ),
    "dispute": lambda e, f: disputes.dispute_open(
        e, charge_id=f["charge"], inquiry=_flag(f, "inquiry")
    ),
    "dispute_close": lambda e, f: disputes.dispute_close(
        e, dispute_id=f["dispute"], won=f.get("won", "true").lower() != "false"
    ),
    "sepa": lambda e, f: checkout.sepa_settle(e, session_id=f["session"], fail=_flag(f, "fail")),
    "payout": _payout,
    "balance": lambda e, f: e.balance(),
}


def control_answer(emulator: Emulator, *, method: str, path: str, body: str) -> Obj:
    """Run one `/_emulator/NAME` control; return a JSON-able answer (an `error` key on refusal)."""
    name = path.removeprefix("/_emulator/")
    if name not in CONTROLS:
        return {"error": f"unknown control {name!r}; known: {sorted(CONTROLS)}"}
    form = dict(parse_qsl(body))
    try:
        with emulator.step():
            result = CONTROLS[name](emulator, form)
    except (KeyError, ValueError, ResourceMissing) as error:
        return {"error": f"{name}: {error}"}
    return {"ok": True, "result": result}


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Stripe emulator checkout</title></head><body>
<p><strong>Stripe emulator.</strong> Not Stripe; no money moves. Test cards: 4242 4242 4242 4242
succeeds, 4000 0000 0000 0002 is declined; IBAN DE89 3704 0044 0532 0130 00 (SEPA).</p>
<h1>Pay {amount} {currency}</h1>{error}
<form method="post"><label>Card number or IBAN <input name="number" autocomplete="off"></label>
<button type="submit">Pay</button></form></body></html>"""


def checkout_page(emulator: Emulator, *, method: str, session_id: str, body: str) -> Answer:
    """Serve the hosted Checkout page of a session, or pay it (POST) and redirect."""
    try:
        session = emulator.get(session_id, "checkout.session")
    except ResourceMissing:
        return 404, "text/html", {"body": "No such checkout session."}
    error = ""
    if method == "POST":
        number = dict(parse_qsl(body)).get("number", "")
        outcome = checkout.session_pay(
            emulator, session_id=session_id, number=number, authenticated=True
        )
        if outcome.paid or (not outcome.error and session["status"] == "open"):
            return 303, "text/html", {"Location": session_redirect_url(session)}
        error = f"<p role='alert'>{html.escape(outcome.error)}</p>"
    page = PAGE.format(
        amount=f"{session['amount_total'] / 100:.2f}",
        currency=html.escape(str(session["currency"]).upper()),
        error=error,
    )
    return 200, "text/html", {"body": page}
