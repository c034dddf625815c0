import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest
from django import forms
from django.template import Context, Template
from django.test import RequestFactory

from antiabuse import client_ip
from antiabuse.challenge import challenge_required, challenge_verify
from antiabuse.honeypot import HoneypotMixin
from antiabuse.ratelimit import RateLimit


def test_rate_limit_allows_up_to_the_limit_then_refuses():
    limit = RateLimit(scope=f"test-{uuid.uuid4().hex}", limit=3, window_seconds=60)

    outcomes = [limit.allow("203.0.113.9") for _ in range(5)]

    assert outcomes == [True, True, True, False, False]


def test_rate_limit_counts_each_key_separately_and_ignores_case():
    limit = RateLimit(scope=f"test-{uuid.uuid4().hex}", limit=1, window_seconds=60)

    assert limit.allow("Reader@Example.org")
    assert not limit.allow("reader@example.org")
    assert limit.allow("other@example.org")


@pytest.mark.redis
def test_rate_limit_on_redis_is_one_round_trip_and_its_window_expires(monkeypatch):
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    limit = RateLimit(scope=f"test-{uuid.uuid4().hex}", limit=2, window_seconds=60)
    commands: list[object] = []
    connection_class = client.connection_pool.connection_class
    send = connection_class.send_command

    def counted(connection: object, *args: object, **kwargs: object) -> object:
        commands.append(args[0])  # the command's name; then sent to Redis as usual
        return send(connection, *args, **kwargs)

    monkeypatch.setattr(connection_class, "send_command", counted)
    outcomes = [limit.allow("203.0.113.9") for _ in range(3)]
    monkeypatch.undo()

    assert outcomes == [True, True, False]
    assert [str(command) for command in commands] == ["EVAL"] * 3
    (key,) = client.keys(cache.make_key(f"ratelimit:{limit.scope}:*"))
    assert 0 < client.ttl(key) <= 61
    assert cache.get(key.decode().removeprefix(cache.make_key(""))) == 3  # the cache reads it


class SignupForm(HoneypotMixin, forms.Form):
    email = forms.EmailField()


def test_honeypot_filled_makes_the_form_invalid_with_a_neutral_message():
    form = SignupForm(data={"email": "a@example.org", "website": "http://spam.example"})

    assert not form.is_valid()
    assert form.non_field_errors() == ["We could not accept this form. Please try again."]


def test_honeypot_left_empty_passes():
    assert SignupForm(data={"email": "a@example.org", "website": ""}).is_valid()


def test_client_ip_uses_remote_addr_without_trusted_proxies(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")

    assert client_ip(request) == "10.0.0.1"


def test_client_ip_skips_what_the_client_wrote_itself(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7"
    )

    assert client_ip(request) == "198.51.100.7"


class TurnstileStandIn(BaseHTTPRequestHandler):
    """Answers like Turnstile's siteverify: the token 'human' passes, anything else fails."""

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        fields = parse_qs(self.rfile.read(length).decode())
        ok = fields.get("response") == ["human"] and fields.get("secret") == ["the-secret"]
        body = json.dumps({"success": ok}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def turnstile(settings) -> Iterator[None]:
    server = HTTPServer(("127.0.0.1", 0), TurnstileStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.TURNSTILE_SITE_KEY = "the-site-key"
    settings.TURNSTILE_SECRET_KEY = "the-secret"
    settings.TURNSTILE_VERIFY_URL = f"http://127.0.0.1:{server.server_port}/siteverify"
    yield
    server.shutdown()


def test_challenge_is_off_and_passes_without_keys(settings):
    settings.TURNSTILE_SITE_KEY = settings.TURNSTILE_SECRET_KEY = ""

    assert not challenge_required()
    assert challenge_verify(token="", remote_ip="203.0.113.9")
    assert Template("{% load antiabuse %}{% challenge_widget %}").render(Context()) == ""


@pytest.mark.usefixtures("turnstile")
def test_challenge_verifies_tokens_when_configured():
    assert challenge_required()
    assert challenge_verify(token="human", remote_ip="203.0.113.9")
    assert not challenge_verify(token="bot", remote_ip="203.0.113.9")
    assert not challenge_verify(token="", remote_ip="203.0.113.9")
    widget = Template("{% load antiabuse %}{% challenge_widget %}").render(Context())
    assert 'data-sitekey="the-site-key"' in widget


def test_challenge_fails_closed_when_the_verifier_is_unreachable(settings):
    settings.TURNSTILE_SITE_KEY = "k"
    settings.TURNSTILE_SECRET_KEY = "s"
    settings.TURNSTILE_VERIFY_URL = "http://127.0.0.1:1/siteverify"

    assert not challenge_verify(token="human", remote_ip="203.0.113.9")
