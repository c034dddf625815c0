"""Payment intents, charges, refunds, balance transactions, disputes and payouts."""

from __future__ import annotations

from stripe_emulator.api.params import as_int
from stripe_emulator.api.router import ApiError, Params, includer, ref, resource, route
from stripe_emulator.core import Emulator
from stripe_emulator.flows.refunds import RefundRefused, refund_create
from stripe_emulator.objects import Obj, list_object

resource("payment_intents", "payment_intent", filters=("customer",))
resource("charges", "charge", filters=("customer", "payment_intent"))
resource("refunds", "refund", filters=("charge", "payment_intent"))
resource("disputes", "dispute", filters=("charge", "payment_intent"))
resource("payouts", "payout", filters=("status", "destination"))
resource("payment_methods", "payment_method", filters=("customer", "type"))


@includer("charge", "refunds")
def charge_refunds(emulator: Emulator, charge: Obj) -> Obj:
    refunds = [r for r in emulator.store.scan("refund") if r["charge"] == charge["id"]]
    refunds.reverse()
    return list_object(refunds, url=f"/v1/charges/{charge['id']}/refunds")


@route("POST", "/v1/refunds")
def refunds_create(emulator: Emulator, params: Params) -> Obj:
    charge_id = params.get("charge")
    if not charge_id and params.get("payment_intent"):
        intent = emulator.get(params["payment_intent"], "payment_intent")
        charge_id = intent["latest_charge"]
        if not charge_id:
            raise ApiError(
                400,
                f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                code="charge_not_refundable",
            )
    if not charge_id:
        raise ApiError(
            400,
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
        )
    amount = as_int(params["amount"], name="amount") if "amount" in params else None
    try:
        return refund_create(
            emulator,
            charge_id=charge_id,
            amount=amount,
            reason=params.get("reason"),
            metadata=params.get("metadata"),
        )
    except RefundRefused as refused:
        raise ApiError(400, str(refused), code=refused.code, param=refused.param) from refused


# Balance transactions: `payout=` lists what a payout paid out (its own transaction included),
# and only once the payout's reconciliation is complete, as Stripe's does for automatic payouts.
def balance_transactions_list(emulator: Emulator, params: Params) -> list[Obj]:
    found = emulator.store.scan("balance_transaction")
    if "payout" in params:
        payout = emulator.get(params["payout"], "payout")
        if payout["automatic"] and payout["reconciliation_status"] != "completed":
            raise ApiError(
                400,
                "Balance transaction history can only be filtered on automatic transfers for "
                "transfers made after the reconciliation completed.",
                param="payout",
            )
        found = [t for t in found if t.get("_payout") == payout["id"]]
    for name in ("type", "source", "currency"):
        if name in params:
            found = [t for t in found if str(ref(t.get(name))) == params[name]]
    return found


resource("balance_transactions", "balance_transaction", lister=balance_transactions_list)
