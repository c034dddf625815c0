"""Log filters. Logs go to stdout as JSON and must never carry a reader's personal data."""

import logging
import re

EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def redact(text: str) -> str:
    """Return `text` with every e-mail address replaced by a placeholder."""
    return EMAIL_PATTERN.sub("[email]", text)


class RedactPersonalData(logging.Filter):
    """Mask e-mail addresses in the message and its arguments.

    Code should not log personal data at all; this filter is the safety net for the case where a
    library or an exception message does.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True
