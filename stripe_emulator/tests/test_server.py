"""The emulator's HTTP/1.1 server: what a Stripe client sends is answered, a connection is kept
open for the next request unless the client says otherwise, and a malformed request or an
emulator bug gets an answer, not a hung or dropped connection."""

import socket
from collections.abc import Iterator

import pytest

from stripe_emulator.server import EmulatorServer

ANSWERED: list[str] = []  # the paths the application was called with


def _echo(environ, start_response):
    ANSWERED.append(environ["PATH_INFO"])
    if environ["PATH_INFO"] == "/boom":
        raise RuntimeError("an emulator bug")
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"] or 0))
    answer = b"|".join(
        [
            environ["REQUEST_METHOD"].encode(),
            environ["PATH_INFO"].encode(),
            environ["QUERY_STRING"].encode(),
            environ.get("HTTP_AUTHORIZATION", "").encode(),
            environ.get("HTTP_IDEMPOTENCY_KEY", "").encode(),
            body,
        ]
    )
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(answer)))])
    return [answer]


@pytest.fixture(name="address")
def address_fixture() -> Iterator[tuple[str, int]]:
    server = EmulatorServer(_echo).serve_in_background()
    yield "127.0.0.1", server.server_port
    server.shutdown()
    server.server_close()


def _exchange(address, raw: bytes) -> bytes:
    """Send `raw` on a new connection and read until the server closes it."""
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_requests_one_after_another_on_one_connection_each_get_their_own_answer(address):
    raw = (
        b"POST /v1/customers?expand[]=x HTTP/1.1\r\nHost: e\r\nAuthorization: Bearer sk_test_1\r\n"
        b"Idempotency-Key: k1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 7\r\n\r\nemail=a"
        b"GET /v1/customers/cus_%41 HTTP/1.1\r\nHost: e\r\n\r\n"
        b"GET /v1/last HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n"
    )
    answers = _exchange(address, raw).split(b"HTTP/1.1 ")[1:]

    assert len(answers) == 3  # all three answered, then closed as the last one asked
    assert answers[0].startswith(b"200 OK\r\n")
    assert answers[0].endswith(b"\r\n\r\nPOST|/v1/customers|expand[]=x|Bearer sk_test_1|k1|email=a")
    assert b"Content-Length: 57\r\n" in answers[0]
    assert answers[1].endswith(b"GET|/v1/customers/cus_A||||")
    assert b"Connection: close\r\n" in answers[2]


def test_an_http_1_0_client_gets_its_answer_and_the_connection_closed(address):
    answer = _exchange(address, b"GET /v1/one HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"GET|/v1/one||||")


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"GET /v1/x SPDY/3\r\n\r\n", b"505"),
        (b"GET /v1/x HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
        (b"POST /v1/x HTTP/1.1\r\nContent-Length: many\r\n\r\n", b"400"),
        (b"POST /v1/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"400"),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"414"),
        (b"GET /v1/x HTTP/1.1\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n", b"431"),
    ],
)
def test_a_malformed_request_is_answered_with_its_error_and_the_connection_closed(
    address, raw, status
):
    answer = _exchange(address, raw)
    assert answer.startswith(b"HTTP/1.1 " + status + b" ")
    assert b"Connection: close\r\n" in answer


def test_an_emulator_bug_is_a_500_and_the_server_goes_on(address):
    raw = b"GET /boom HTTP/1.1\r\n\r\nGET /v1/after HTTP/1.1\r\nConnection: close\r\n\r\n"
    answers = _exchange(address, raw).split(b"HTTP/1.1 ")[1:]
    assert answers[0].startswith(b"500 ")
    assert b'"type": "api_error"' in answers[0]
    assert answers[1].startswith(b"200 OK") and answers[1].endswith(b"GET|/v1/after||||")


def test_a_client_gone_mid_request_is_never_answered_and_others_are(address):
    ANSWERED.clear()
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(b"GET /v1/half HTTP/1.1\r\nHost: e\r\n")  # no blank line: then gone
    answer = _exchange(address, b"GET /v1/next HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"GET|/v1/next||||")
    assert ANSWERED == ["/v1/next"]  # the half-read request never reached the API
