"""A pluggable human check in front of forms that bots target.

Cloudflare Turnstile is used when `TURNSTILE_SITE_KEY` and `TURNSTILE_SECRET_KEY` are set; with
no keys, the challenge is off and every verification passes. The verification endpoint is a
setting, so a deployment can point it elsewhere (and tests at a local server).
"""

import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

logger = logging.getLogger(__name__)

TOKEN_FIELD = "cf-turnstile-response"  # noqa: S105 - a form field name, not a secret
VERIFY_TIMEOUT_SECONDS = 5


def challenge_required() -> bool:
    """Return whether forms must carry a challenge token."""
    return bool(settings.TURNSTILE_SITE_KEY and settings.TURNSTILE_SECRET_KEY)


def challenge_verify(*, token: str, remote_ip: str) -> bool:
    """Return whether the challenge `token` is valid; always True when no challenge is set up."""
    if not challenge_required():
        return True
    if not token:
        return False
    body = urllib.parse.urlencode(
        {"secret": settings.TURNSTILE_SECRET_KEY, "response": token, "remoteip": remote_ip}
    ).encode()
    request = urllib.request.Request(settings.TURNSTILE_VERIFY_URL, data=body, method="POST")  # noqa: S310 - URL from settings
    try:
        with urllib.request.urlopen(request, timeout=VERIFY_TIMEOUT_SECONDS) as response:  # noqa: S310
            outcome = json.load(response)
    except (urllib.error.URLError, TimeoutError, ValueError):
        # Fail closed: a reader can retry, a bot must not get through while the check is down.
        logger.warning("challenge verification unavailable")
        return False
    return bool(outcome.get("success"))
