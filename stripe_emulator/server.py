"""Serve the emulator's API over HTTP/1.1, with connections kept open between requests.

Stripe's API keeps a client's connection alive, and the stripe library reuses it: the emulator
does too, so what a client spends per call here is what it spends against Stripe (wsgiref's own
server speaks HTTP/1.0 and closes every connection after one answer). Every answer of
`stripe_emulator.wsgi` has a Content-Length, which keeping a connection open needs.
"""

from __future__ import annotations

import logging
import threading
from socketserver import ThreadingMixIn
from typing import IO, Any, Self, cast
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

logger = logging.getLogger("stripe_emulator.http")

MAX_REQUEST_LINE = 65536


class _Http11Handler(ServerHandler):
    http_version = "1.1"


class _KeepAliveRequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    # wsgiref writes an answer's headers and body apart: on a connection kept open, Nagle's
    # algorithm would hold the body until the client's delayed ACK (40 ms a call).
    disable_nagle_algorithm = True

    def handle(self) -> None:
        """Answer requests on this connection until the client closes it or asks to."""
        self.close_connection = False
        while not self.close_connection:
            self._handle_one()

    def _handle_one(self) -> None:
        self.raw_requestline = self.rfile.readline(MAX_REQUEST_LINE + 1)
        if not self.raw_requestline:
            self.close_connection = True  # the client closed it
            return
        if len(self.raw_requestline) > MAX_REQUEST_LINE:
            self.send_error(414)
            self.close_connection = True
            return
        if not self.parse_request():  # answered the error; it also reads `Connection: close`
            self.close_connection = True
            return
        handler = _Http11Handler(
            self.rfile,
            cast(IO[bytes], self.wfile),
            self.get_stderr(),
            self.get_environ(),
            multithread=True,
        )
        handler.request_handler = self  # type: ignore[attr-defined]  # wsgiref's link back
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:
        logger.debug(format, *args)


class EmulatorServer(ThreadingMixIn, WSGIServer):
    """A thread per connection; a connection lives as long as its client keeps it."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _KeepAliveRequestHandler)
        self.set_app(app)

    def serve_in_background(self) -> Self:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self
