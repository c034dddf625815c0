"""`python -m stripe_emulator --port N`: serve the emulator's API over HTTP."""

from __future__ import annotations

import argparse
import logging

from stripe_emulator.core import DEFAULT_WEBHOOK_SECRET, Emulator
from stripe_emulator.server import EmulatorServer
from stripe_emulator.wsgi import webhook_poster, wsgi_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the Stripe emulator's API over HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per API call")
    parser.add_argument("--currency", default="eur", help="the account's settlement currency")
    parser.add_argument("--webhook-url", default=None, help="post every event here, signed")
    parser.add_argument("--webhook-secret", default=DEFAULT_WEBHOOK_SECRET)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    emulator = Emulator(
        webhook_secret=args.webhook_secret,
        latency=args.latency,
        default_currency=args.currency,
    )
    emulator.sinks.append(webhook_poster(emulator, url=args.webhook_url))
    emulator.checkout_page_base = f"http://{args.host}:{args.port}"
    server = EmulatorServer(wsgi_app(emulator), args.host, args.port)
    print(f"Stripe emulator on http://{args.host}:{args.port} (test mode only)", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
