"""Serve the emulator's API over HTTP/1.1, with connections kept open between requests.

Stripe's API keeps a client's connection alive, and the stripe library reuses it: the emulator
does too, so what a client spends per call here is what it spends against Stripe (wsgiref's own
server speaks HTTP/1.0 and closes every connection after one answer). Every answer is sent
with the Content-Length of its body, which keeping a connection open needs.

The HTTP here is the little a Stripe client sends: a request line, headers and a body of
Content-Length bytes. `http.server` parsed the headers with the e-mail package's parser and
wsgiref wrote each answer through several layers: together half of the emulator's time per API
read in the webhook benchmark, on the cores the worker is measured on.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import StreamRequestHandler, TCPServer, ThreadingMixIn
from typing import Any, Self
from urllib.parse import unquote

logger = logging.getLogger("stripe_emulator.http")

MAX_REQUEST_LINE = 65536
MAX_HEADERS = 100
MAX_BODY = 10 * 1024 * 1024

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _BadRequest(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class _KeepAliveRequestHandler(StreamRequestHandler):
    # An answer is written in one piece, but the client's next request should not wait for a
    # delayed ACK either.
    disable_nagle_algorithm = True
    server: EmulatorServer

    def handle(self) -> None:
        """Answer requests on this connection until the client closes it or asks to."""
        try:
            while self._answer_one():
                pass
        except ConnectionError:  # the client went away mid-request or before its answer
            pass

    def _answer_one(self) -> bool:
        """Read one request and answer it; return whether the connection stays open."""
        try:
            request = self._request()
        except _BadRequest as bad:
            self._write(bad.status, [], b"", keep_open=False)
            return False
        if request is None:
            return False  # the client closed the connection
        environ, keep_open = request
        status, headers, body = self._run_app(environ)
        self._write(status, headers, body, keep_open=keep_open)
        return keep_open

    def _request(self) -> tuple[dict[str, Any], bool] | None:
        line = self.rfile.readline(MAX_REQUEST_LINE + 1)
        if not line:
            return None
        if len(line) > MAX_REQUEST_LINE:
            raise _BadRequest("414 URI Too Long")
        try:
            method, target, version = line.decode("latin-1").split()
        except ValueError:
            raise _BadRequest("400 Bad Request") from None
        if not version.startswith("HTTP/1."):
            raise _BadRequest("505 HTTP Version Not Supported")
        headers = self._headers()
        if headers is None:
            return None  # the client closed the connection mid-request
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            raise _BadRequest("400 Bad Request") from None
        if not 0 <= length <= MAX_BODY or "transfer-encoding" in headers:
            raise _BadRequest("400 Bad Request")  # Stripe's clients send a Content-Length
        body = self.rfile.read(length)
        path, _, query = target.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query,
            "CONTENT_TYPE": headers.get("content-type", ""),
            "CONTENT_LENGTH": str(length),
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_port),
            "SERVER_PROTOCOL": version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in headers.items():
            if name not in ("content-type", "content-length"):
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        keep_open = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        return environ, keep_open

    def _headers(self) -> dict[str, str] | None:
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS):
            line = self.rfile.readline(MAX_REQUEST_LINE + 1)
            if not line:
                return None
            if line in (b"\r\n", b"\n"):
                return headers
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or len(line) > MAX_REQUEST_LINE:
                raise _BadRequest("400 Bad Request")
            headers[name.strip().lower()] = value.strip()
        raise _BadRequest("431 Request Header Fields Too Large")

    def _run_app(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            started[:] = [status, headers]

        try:
            body = b"".join(self.server.app(environ, start_response))
        except Exception:  # the emulator's own bug: answer as Stripe would, and keep serving
            logger.exception("the emulator failed on %s", environ["PATH_INFO"])
            body = json.dumps({"error": {"type": "api_error", "message": "emulator"}}).encode()
            return "500 Internal Server Error", [("Content-Type", "application/json")], body
        status, headers = started
        return status, headers, body

    def _write(
        self, status: str, headers: list[tuple[str, str]], body: bytes, *, keep_open: bool
    ) -> None:
        lines = [f"HTTP/1.1 {status}"]
        # The length of what is sent, whatever the application said.
        lines += [f"{name}: {value}" for name, value in headers if name.lower() != "content-length"]
        lines.append(f"Content-Length: {len(body)}")
        if not keep_open:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + body)


class EmulatorServer(ThreadingMixIn, TCPServer):
    """A thread per connection; a connection lives as long as its client keeps it."""

    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _KeepAliveRequestHandler)
        self.app = app

    @property
    def server_port(self) -> int:
        return int(self.server_address[1])

    def serve_in_background(self) -> Self:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self
