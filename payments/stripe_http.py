"""Stripe's HTTP layer on the standard library's `http.client`: one kept-alive connection per
thread and server.

The stripe library's default client sends through `requests`, whose sessions, adapters, hooks
and cookie jars cost the webhook worker more than a tenth of its CPU per event (a profile of the
benchmark: `Session.request` took 14% of the worker, the socket's own work 4%). Each event of a
renewal day reads Stripe at least once, so this layer does only what a call to Stripe needs:
send the request on this thread's open connection, read the whole answer, and hand it back in
the shape the library expects. Connections stay per thread, as `requests` kept them: the
worker's threads never wait on each other's sockets.

A deployment behind a proxy keeps the library's `requests` client (`stripe_http_client`):
tunnelling through a proxy is what `requests` is for.
"""

from __future__ import annotations

import functools
import gzip
import http.client
import io
import select
import ssl
from collections.abc import Mapping
from typing import Any, NoReturn, cast
from urllib.parse import urlsplit

import requests
import stripe

TIMEOUT_SECONDS = 80  # the library's own default for its clients


class KeptAliveHttpClient(stripe.HTTPClient):
    """Send each request on this thread's connection to its server, opened once and kept."""

    name = "http.client"

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[Any, int, Mapping[str, str]]:
        return self._send(method, url, headers, post_data)

    def request_stream(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[Any, int, Mapping[str, str]]:
        # Only file downloads stream, and they fit in memory: the answer is read whole.
        content, status, answer_headers = self._send(method, url, headers, post_data)
        return io.BytesIO(content), status, answer_headers

    def close(self) -> None:
        """Close this thread's connections (each thread's own are closed by that thread)."""
        for connection in self._connections().values():
            connection.close()
        self._connections().clear()

    def _send(
        self, method: str, url: str, headers: Any, post_data: Any
    ) -> tuple[bytes, int, Mapping[str, str]]:
        parts = urlsplit(url)
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path
        server = (parts.scheme, parts.hostname or "", parts.port)
        connection = self._connection(server)
        try:
            connection.request(
                method.upper(),
                target,
                body=post_data,
                headers={**headers, "Accept-Encoding": "gzip"},
            )
            answer = connection.getresponse()
            content = answer.read()
        except (OSError, http.client.HTTPException) as error:
            self._drop(server)
            _raise_connection_error(error)
        if answer.will_close:
            self._drop(server)
        if answer.headers.get("Content-Encoding", "").lower() == "gzip":
            content = gzip.decompress(content)
        # Looked up without regard to case, as the library does (`"stripe-should-retry" in ...`).
        return content, answer.status, cast(Mapping[str, str], answer.headers)

    def _connections(self) -> dict[tuple[str, str, int | None], http.client.HTTPConnection]:
        if not hasattr(self._thread_local, "connections"):
            self._thread_local.connections = {}
        connections: dict[tuple[str, str, int | None], http.client.HTTPConnection]
        connections = self._thread_local.connections
        return connections

    def _connection(self, server: tuple[str, str, int | None]) -> http.client.HTTPConnection:
        """This thread's open connection to `server`, or a new one if it has none or the
        server closed it while it was idle (it reads as ready: the end of the stream)."""
        connections = self._connections()
        connection = connections.get(server)
        if connection is not None and _closed_by_server(connection):
            self._drop(server)
            connection = None
        if connection is None:
            scheme, host, port = server
            if scheme == "https":
                connection = http.client.HTTPSConnection(
                    host, port, timeout=TIMEOUT_SECONDS, context=_tls_context()
                )
            else:
                connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)
            connections[server] = connection
        return connection

    def _drop(self, server: tuple[str, str, int | None]) -> None:
        connection = self._connections().pop(server, None)
        if connection is not None:
            connection.close()


def _closed_by_server(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle kept-alive connection was closed at the other end: between requests the
    server sends nothing, so a socket ready to read holds only the end of the stream."""
    sock = connection.sock
    if sock is None:
        return False  # not opened yet: `request` connects
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Certificates checked against the stripe library's own bundle, as its clients do."""
    return ssl.create_default_context(cafile=stripe.ca_bundle_path)


def _raise_connection_error(error: Exception) -> NoReturn:
    """The library's APIConnectionError, retried as its `requests` client retries: a
    certificate that fails verification is not (retrying cannot fix it); a timeout, a refused
    or dropped connection is."""
    retry = not isinstance(error, ssl.SSLCertVerificationError)
    message = f"Could not reach Stripe ({type(error).__name__}: {error})."
    raise stripe.APIConnectionError(message, should_retry=retry) from error  # type: ignore[no-untyped-call]


class _ProxiesReadOnceClient(stripe.RequestsClient):
    """The library's `requests` client with the environment's proxy settings read once, for a
    deployment behind a proxy.

    `requests` otherwise reads every proxy variable of the environment again on each call
    (about a millisecond). Its sessions ignore the environment instead; the proxy that applies
    to Stripe's address (`HTTPS_PROXY`, `NO_PROXY`...) is read when the client is made and
    passed on explicitly.
    """

    def __init__(self, proxies: dict[str, str]) -> None:
        super().__init__(proxy=proxies)  # type: ignore[arg-type]

    def _request_internal(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(self._thread_local, "session", None) is None:
            session = requests.Session()
            session.trust_env = False  # proxies: read once above; certificates: the library's
            self._thread_local.session = session
        return super()._request_internal(*args, **kwargs)


@functools.cache
def stripe_http_client(api_base: str) -> stripe.HTTPClient:
    """The HTTP client for Stripe at `api_base`, one per process: its connections are kept
    alive between events (a new TLS handshake per event would cost more than the read itself)
    and it keeps them per thread, so the worker's threads share it. Through the environment's
    proxy for that address, if one applies."""
    proxies = requests.utils.get_environ_proxies(api_base)
    if proxies:
        return _ProxiesReadOnceClient(dict(proxies))
    return KeptAliveHttpClient()
