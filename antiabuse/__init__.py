"""Defences for the public forms that take a reader's e-mail: rate limits, a honeypot and a
pluggable challenge (Cloudflare Turnstile when configured)."""

from antiabuse.client import client_ip

__all__ = ["client_ip"]
