"""No personal data or secrets in the logs, wherever they come from (issue 11, finding 8): the
JSON formatter redacts the whole merged record (message, request, `extra` fields, traceback)."""

import io
import json
import logging
import logging.config

import pytest
from django.conf import settings

from config.logging import redact
from payments.models import Supporter
from payments.services import sign_in_link_create

pytestmark = pytest.mark.django_db

ADDRESS = "Reader.Name+news@Example.org"


@pytest.fixture
def log_lines(monkeypatch):
    """The JSON lines the stdout handler writes while the test runs."""
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    logging.config.dictConfig(settings.LOGGING)
    lines: list[dict] = []
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    monkeypatch.undo()
    logging.config.dictConfig(settings.LOGGING)
    del lines


def text_of(lines):
    return "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)


# A shared corpus of hard cases for the one redaction function.
CORPUS = [
    ("mail a@b.co now", "a@b.co"),
    ("Ünïcödé@bücher.example", "Ünïcödé@bücher.example"),
    ("/x/?email=reader%40example.org&y=1", "reader%40example.org"),
    ("/x/?email=reader%2540example.org", "reader%2540example.org"),
    ("key sk_live_51Habcdefghijklmnop in a message", "sk_live_51Habcdefghijklmnop"),
    ("secret whsec_abcdefghijklmnop", "whsec_abcdefghijklmnop"),
    ("/surveys/reader-survey/?draft=AbCdEf123456", "AbCdEf123456"),
    ("/support/account/sign-in/Zm9vYmFyYmF6cXV4MTIz/", "Zm9vYmFyYmF6cXV4MTIz"),
    ("/surveys/entry/confirm/ImFiYyI:1tQ:xyz/", "ImFiYyI:1tQ:xyz"),
    ("/surveys/prize/claim/WzEsIm4iXQ:1t:abc/", "WzEsIm4iXQ:1t:abc"),
    ("/support/checkout/MTIz:1tQ:sig/hosted/", "MTIz:1tQ:sig"),
    ("<WSGIRequest: GET '/api/decision/?preview=eyJhIjoxfQ:sig'>", "eyJhIjoxfQ:sig"),
]


@pytest.mark.parametrize(("text", "secret"), CORPUS)
def test_redaction_corpus(text, secret):
    assert secret not in redact(text)


def test_an_address_in_the_message_extra_fields_and_traceback_is_redacted(log_lines):
    logger = logging.getLogger("payments")
    try:
        raise ValueError(f"no mailbox {ADDRESS}")
    except ValueError:
        logger.exception(
            "bounce for %s", ADDRESS, extra={"to": ADDRESS, "data": {"args": [ADDRESS]}}
        )

    lines = log_lines()
    assert ADDRESS.lower() not in text_of(lines).lower()
    assert lines[-1]["to"] == "[email]"
    assert "ValueError: no mailbox [email]" in lines[-1]["exc_info"]


def test_the_request_path_and_query_of_a_logged_request_are_redacted(client, log_lines):
    client.get("/support/thanks/", {"session_id": "cs_test_nope", "email": ADDRESS})

    lines = log_lines()
    assert any(line["logger"] == "django.request" for line in lines)  # a 404 is logged
    assert "reader.name" not in text_of(lines).lower()


def test_a_still_valid_sign_in_token_is_never_logged(client, log_lines):
    Supporter.objects.create(email="ada@example.org")
    created = sign_in_link_create(email="ada@example.org")
    assert created is not None
    _, token = created

    client.get(f"/support/account/sign-in/{token}x/")  # a typo'd link: 410, logged
    client.post(f"/support/account/sign-in/{token}/")  # used: signs in
    client.post(f"/support/account/sign-in/{token}/")  # used again: 410, logged

    text = text_of(log_lines())
    assert "sign-in/" in text
    assert token not in text


@pytest.mark.parametrize(
    "path",
    [
        "/surveys/entry/confirm/ImFiYyI:1tQ:bad-signature/",
        "/surveys/prize/claim/WzEsIm4iXQ:1tQ:bad-signature/",
        "/surveys/reader-survey/?draft=AbCdEf123456",
    ],
)
def test_tokens_in_other_logged_routes_are_redacted(client, log_lines, path):
    client.get(path)

    text = text_of(log_lines())
    assert "bad-signature" not in text and "AbCdEf123456" not in text


def test_celery_workers_log_through_the_redacting_formatter(log_lines):
    from celery.signals import setup_logging

    from config.celery import app  # noqa: F401 - connects the receiver
    from config.logging import RedactingJsonFormatter

    results = setup_logging.send(
        sender=None, loglevel="INFO", logfile=None, format="", colorize=False
    )

    assert results  # a receiver configures logging, so Celery leaves the root logger alone
    formatters = {type(handler.formatter) for handler in logging.getLogger().handlers}
    assert formatters == {RedactingJsonFormatter}
