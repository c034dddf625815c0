"""The emulator as an HTTP server (`python -m stripe_emulator --port N`), for `STRIPE_API_BASE`.

A WSGI app answering Stripe's API paths (and, `control`, a hosted Checkout page and controls that
play Stripe's flows), plus a sink that posts each event, signed, to every
enabled webhook endpoint created through the API (with that endpoint's secret) and to the URL
given on the command line (with the emulator's secret).
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from stripe_emulator.api import dispatch
from stripe_emulator.api.webhooks import endpoint_wants
from stripe_emulator.control import checkout_page, control_answer
from stripe_emulator.core import Emulator
from stripe_emulator.delivery import event_payload, signature_header
from stripe_emulator.objects import Obj

logger = logging.getLogger(__name__)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def wsgi_app(emulator: Emulator) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """Return a WSGI application serving `emulator`'s API."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ["REQUEST_METHOD"])
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/pay/"):
            status, kind, answer = checkout_page(
                emulator, method=method, session_id=path[5:], body=_body(environ)
            )
            data = str(answer.pop("body", "")).encode()
            headers = [("Content-Type", kind), *((k, str(v)) for k, v in answer.items())]
            start_response(f"{status} {REASONS.get(status, 'See Other')}", headers)
            return [data]
        if path.startswith("/_emulator/"):
            answer = control_answer(emulator, method=method, path=path, body=_body(environ))
            return _send(start_response, 400 if "error" in answer else 200, answer, {})
        if not _test_key(str(environ.get("HTTP_AUTHORIZATION", ""))):
            return _send(
                start_response,
                401,
                {
                    "error": {
                        "message": "You did not provide a test mode API key (the emulator "
                        "has no live mode). Use Authorization: Bearer sk_test_...",
                        "type": "invalid_request_error",
                    }
                },
                {},
            )
        response = dispatch(
            emulator,
            method=method,
            path=path,
            query=str(environ.get("QUERY_STRING", "")),
            body=_body(environ),
            idempotency_key=environ.get("HTTP_IDEMPOTENCY_KEY"),
        )
        return _send(start_response, response.status, response.body, response.headers)

    return app


def _body(environ: dict[str, Any]) -> str:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return str(environ["wsgi.input"].read(length).decode()) if length else ""


def _test_key(authorization: str) -> bool:
    """Whether the request carries a test-mode key (Bearer, or Basic with the key as user)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            return False
    return value.startswith(("sk_test_", "rk_test_"))


def _send(
    start_response: StartResponse, status: int, body: Obj, headers: dict[str, str]
) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(
        f"{status} {REASONS.get(status, 'Error')}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            *headers.items(),
        ],
    )
    return [data]


def webhook_poster(emulator: Emulator, *, url: str | None) -> Callable[[Obj], None]:
    """Return a sink that posts each event to `url` and to the endpoints registered by the API."""

    def post(event: Obj) -> None:
        targets = [(url, emulator.webhook_secret)] if url else []
        for endpoint in emulator.store.scan("webhook_endpoint"):
            if endpoint_wants(endpoint, event):
                targets.append((endpoint["url"], endpoint["_secret"]))
        payload = event_payload(event)
        for target, secret in targets:
            if not target.startswith(("http://", "https://")):
                continue
            request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
                target,
                data=payload,
                headers={
                    "Content-Type": "application/json",
                    "Stripe-Signature": signature_header(payload=payload, secret=secret),
                },
            )
            try:
                urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - http(s) URLs
            except OSError as error:  # Stripe would retry later; the emulator logs it
                logger.warning("webhook %s to %s failed: %s", event["type"], target, error)

    return post
