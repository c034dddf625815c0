"""The emulator's HTTP API: `dispatch` answers a request; each module registers a family of
endpoints (add a module here for a new family)."""

from stripe_emulator.api import billing, checkout, customers, payments, webhooks
from stripe_emulator.api.params import params_encode
from stripe_emulator.api.router import ApiError, Response, dispatch, includer, resource, route
from stripe_emulator.core import Emulator
from stripe_emulator.objects import Obj


def api_call(
    emulator: Emulator,
    method: str,
    path: str,
    params: dict[str, object] | None = None,
    *,
    idempotency_key: str | None = None,
) -> Obj:
    """Call the emulator's API as a client would; return the answer or raise `ApiError`."""
    encoded = params_encode(params or {})
    get = method.upper() == "GET"
    response = dispatch(
        emulator,
        method=method,
        path=path,
        query=encoded if get else "",
        body="" if get else encoded,
        idempotency_key=idempotency_key,
    )
    if response.status != 200:
        error = response.body["error"]
        raise ApiError(response.status, error["message"], error_type=error["type"])
    return response.body


__all__ = [
    "ApiError",
    "Response",
    "api_call",
    "billing",
    "checkout",
    "customers",
    "dispatch",
    "includer",
    "payments",
    "resource",
    "route",
    "webhooks",
]
