"""The emulator behind the stripe library's own HTTP hook (`StripeClient(http_client=...)`).

The real library builds, encodes and sends each request (retries and idempotency keys
included); this client answers it from the emulator in this process instead of the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from stripe import HTTPClient

from stripe_emulator.api import dispatch
from stripe_emulator.core import Emulator


class EmulatorHttpClient(HTTPClient):
    """A stripe `HTTPClient` that answers from `emulator`; `requests` records what was sent
    (method, path, the form body as sent, and the query and form parameters as flat
    `{"a[b][0]": value}` maps)."""

    name = "stripe-emulator"

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator
        self.requests: list[dict[str, Any]] = []

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        parts = urlsplit(url)
        body = post_data.decode() if isinstance(post_data, bytes) else str(post_data or "")
        sent = dict(headers or {})
        self.requests.append(
            {
                "method": method.upper(),
                "path": parts.path,
                "query": dict(parse_qsl(parts.query, keep_blank_values=True)),
                "body": body,
                "params": dict(parse_qsl(body, keep_blank_values=True)),
                "headers": sent,
            }
        )
        response = dispatch(
            self.emulator,
            method=method,
            path=parts.path,
            query=parts.query,
            body=body,
            idempotency_key=sent.get("Idempotency-Key"),
        )
        return json.dumps(response.body), response.status, response.headers

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        raise NotImplementedError("the emulator answers no streaming endpoints")

    def close(self) -> None:
        pass
