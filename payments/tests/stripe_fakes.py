"""Test doubles for Stripe's network API, built from Stripe's published example objects.

`stripe_objects.json` holds the resources tests need, copied from Stripe's OpenAPI fixtures
(`openapi/fixtures3.json`, MIT licence). `stripe_object()` returns a fresh copy with overrides;
`signed_event()` wraps an object into an event and signs it as Stripe does; `FakeStripeHttp` is
plugged into the stripe library's `http_client` hook so the real library builds and sends each
request, and the fake records it and answers with example objects.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from stripe import HTTPClient

from payments.stripe_gateway import event_json, webhook_signature_header

OBJECTS = json.loads((Path(__file__).parent / "stripe_objects.json").read_text())
WEBHOOK_SECRET = "whsec_test_" + "0" * 32


def stripe_object(kind: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(OBJECTS[kind])
    data.update(overrides)
    return data


def event(
    event_type: str, obj: dict[str, Any], *, created: int | None = None, **extra: Any
) -> dict[str, Any]:
    data = stripe_object("event")
    data.update(
        id="evt_" + secrets.token_hex(12),
        type=event_type,
        created=created if created is not None else int(time.time()),
        data={"object": obj},
        api_version="2026-10-28.endive",
        livemode=False,
    )
    data.update(extra)
    return data


def signed(
    data: dict[str, Any], *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> tuple[bytes, str]:
    payload = event_json(data)
    return payload, webhook_signature_header(payload=payload, secret=secret, timestamp=timestamp)


def post_event(client: Any, data: dict[str, Any], **kwargs: Any) -> Any:
    payload, signature = signed(data, **kwargs)
    return client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


class FakeStripeHttp(HTTPClient):
    """Stripe's HTTP layer replaced: records every request, answers from `self.objects`."""

    name = "fake"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, Any]] = []
        self.objects: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, list[dict[str, Any]]] = {}
        self.created: dict[str, dict[str, Any]] = {}
        # Stripe's error answers (status, body) for POSTs to a path, e.g. a refused refund.
        self.refusals: dict[str, tuple[int, dict[str, Any]]] = {}

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        return obj

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[str, int, dict[str, str]]:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        body = dict(
            parse_qsl(post_data.decode() if isinstance(post_data, bytes) else post_data or "")
        )
        record = {
            "method": method,
            "path": parts.path,
            "query": query,
            "params": body,
            "headers": dict(headers or {}),
        }
        self.requests.append(record)
        status, answer = self.answer(method, parts.path, query, body)
        return json.dumps(answer), status, {"request-id": "req_fake"}

    def answer(
        self, method: str, path: str, query: dict[str, str], body: dict[str, str]
    ) -> tuple[int, Any]:
        segments = path.strip("/").split("/")[1:]  # drop "v1"
        resource = "/".join(segments[:-1]) if len(segments) > 1 else segments[0]
        if method == "get" and len(segments) >= 2 and segments[-1] in self.objects:
            return 200, self.objects[segments[-1]]
        if method in ("post", "delete") and segments[-1] in self.objects:
            obj = self.objects[segments[-1]]
            if method == "delete":
                obj.update(
                    status="canceled", canceled_at=int(time.time()), ended_at=int(time.time())
                )
            return 200, obj
        if method == "get" and path in self.lists:
            return 200, {"object": "list", "data": self.lists[path], "has_more": False, "url": path}
        if method == "post" and path in self.refusals:
            return self.refusals[path]
        if method == "post" and path in self.created:
            return 200, self.created[path]
        return 404, {
            "error": {"type": "invalid_request_error", "message": f"No such resource: {resource}"}
        }

    def close(self) -> None:
        pass
