import io
import json
import logging
import logging.config

from django.conf import settings


def test_logs_are_json_on_stdout_without_email_addresses(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    logging.config.dictConfig(settings.LOGGING)
    try:
        logging.getLogger("payments").warning("receipt bounced for %s", "Reader@Example.org")
    finally:
        monkeypatch.undo()
        logging.config.dictConfig(settings.LOGGING)

    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["level"] == "WARNING"
    assert line["logger"] == "payments"
    assert line["message"] == "receipt bounced for [email]"
