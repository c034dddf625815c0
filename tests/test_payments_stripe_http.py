"""Stripe's HTTP layer (`payments.stripe_http`) against real sockets: servers that close idle
connections, compress their answers, or present a certificate Stripe's bundle does not trust.

Through the gateway, the emulator's tests cover the rest (kept-alive reads, a refused
connection, writes over HTTP).
"""

from __future__ import annotations

import gzip
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import stripe

from payments import stripe_http
from payments.stripe_http import KeptAliveHttpClient

BODY = b'{"id": "pi_1", "object": "payment_intent"}'


class LocalServer:
    """A server on a free local port that answers each request with `answer(request)`, then
    keeps the connection open, or with `close_after_each` closes it as an idle timeout would."""

    def __init__(
        self,
        answer: Callable[[bytes], bytes],
        *,
        close_after_each: bool = False,
        wrap: Callable[[socket.socket], socket.socket] | None = None,
    ) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.answer, self.close_after_each, self.wrap = answer, close_after_each, wrap
        self.connections = 0
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return  # closed
            try:
                conn = self.wrap(raw) if self.wrap else raw
            except (OSError, ssl.SSLError):
                raw.close()  # the client refused the handshake
                continue
            self.connections += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        with conn:
            reader = conn.makefile("rb")
            while True:
                request = b""
                while not request.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    request += line
                self.requests.append(request)
                conn.sendall(self.answer(request))
                if self.close_after_each:
                    return  # no "Connection: close": the client learns when it next sends

    def close(self) -> None:
        self.listener.close()


def answer_with(body: bytes, *headers: str) -> Callable[[bytes], bytes]:
    head = "".join(f"{h}\r\n" for h in headers)
    return lambda request: (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{head}"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


@pytest.fixture
def client() -> Iterator[KeptAliveHttpClient]:
    http = KeptAliveHttpClient()
    yield http
    http.close()


def test_a_connection_the_server_closed_while_idle_is_replaced_not_failed(client):
    server = LocalServer(answer_with(BODY), close_after_each=True)
    url = f"http://127.0.0.1:{server.port}/v1/payment_intents/pi_1"
    try:
        first = client.request("get", url, {"Authorization": "Bearer sk_test_x"})
        # The server has closed the idle connection (as load balancers do after a while).
        assert _wait_for(lambda: server.requests and _peer_closed(client))
        second = client.request("get", url, {"Authorization": "Bearer sk_test_x"})
    finally:
        server.close()
    assert first[:2] == second[:2] == (BODY, 200)
    assert server.connections == 2  # the second request went on a new connection, first time


def test_requests_on_one_thread_share_its_connection(client):
    server = LocalServer(answer_with(BODY))
    url = f"http://127.0.0.1:{server.port}/v1/charges/ch_1?expand%5B0%5D=balance_transaction"
    try:
        for _ in range(3):
            assert client.request("get", url, {})[1] == 200
        other_thread = threading.Thread(target=client.request, args=("get", url, {}))
        other_thread.start()
        other_thread.join()
    finally:
        server.close()
    assert server.connections == 2  # this thread's, then the other thread's own
    assert server.requests[0].startswith(
        b"GET /v1/charges/ch_1?expand%5B0%5D=balance_transaction HTTP/1.1\r\n"
    )


def test_a_compressed_answer_is_read_as_the_json_it_holds(client):
    server = LocalServer(answer_with(gzip.compress(BODY), "Content-Encoding: gzip"))
    try:
        content, status, headers = client.request("get", f"http://127.0.0.1:{server.port}/v1", {})
    finally:
        server.close()
    assert (content, status) == (BODY, 200)
    assert b"Accept-Encoding: gzip" in server.requests[0]
    assert headers["content-type"] == "application/json"  # looked up as the library does


def test_a_streamed_answer_reads_as_the_whole_answer(client):
    server = LocalServer(answer_with(BODY))
    try:
        stream, status, _ = client.request_stream("get", f"http://127.0.0.1:{server.port}/v1", {})
    finally:
        server.close()
    assert (stream.read(), status) == (BODY, 200)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (no bundle trusts it)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    request += ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    request += ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(["openssl", *request], check=True, capture_output=True)  # noqa: S603, S607
    return cert, key


def _tls_server(certificate: tuple[Path, Path]) -> LocalServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return LocalServer(
        answer_with(BODY), wrap=lambda raw: context.wrap_socket(raw, server_side=True)
    )


def test_a_certificate_stripes_bundle_does_not_trust_is_refused_and_not_retried(
    client, certificate
):
    server = _tls_server(certificate)
    try:
        with pytest.raises(stripe.APIConnectionError) as refused:
            client.request("get", f"https://127.0.0.1:{server.port}/v1/balance", {})
    finally:
        server.close()
    assert refused.value.should_retry is False  # retrying cannot make it trusted
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)


def test_over_tls_the_connection_is_checked_against_the_bundle_and_kept(
    client, certificate, monkeypatch
):
    monkeypatch.setattr(stripe, "ca_bundle_path", str(certificate[0]))
    stripe_http._tls_context.cache_clear()
    server = _tls_server(certificate)
    try:
        for _ in range(2):
            assert client.request("get", f"https://127.0.0.1:{server.port}/v1/balance", {})[:2] == (
                BODY,
                200,
            )
    finally:
        server.close()
        stripe_http._tls_context.cache_clear()
    assert server.connections == 1


def _peer_closed(client: KeptAliveHttpClient) -> bool:
    (connection,) = client._connections().values()
    return stripe_http._closed_by_server(connection)


def _wait_for(condition: Callable[[], object], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False
