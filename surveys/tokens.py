"""Signed tokens for the links we e-mail: confirming an entry, claiming a prize."""

from django.core import signing

CONFIRM_SALT = "surveys.entry.confirm"
CLAIM_SALT = "surveys.placement.claim"
CONFIRM_MAX_AGE = 60 * 60 * 24 * 60  # the draw's own close ends confirmation sooner


def confirmation_token(*, public_id: str) -> str:
    return signing.dumps(public_id, salt=CONFIRM_SALT, compress=False)


def confirmation_token_read(token: str) -> str | None:
    """Return the entry's public id, or None for a forged, damaged or stale token."""
    try:
        return str(signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE))
    except signing.BadSignature:
        return None


def claim_token(*, placement_id: int, nonce: str) -> str:
    return signing.dumps([placement_id, nonce], salt=CLAIM_SALT)


def claim_token_read(token: str) -> tuple[int, str] | None:
    """Return (placement id, nonce), or None for a forged or damaged token."""
    try:
        placement_id, nonce = signing.loads(token, salt=CLAIM_SALT)
        return int(placement_id), str(nonce)
    except (signing.BadSignature, ValueError, TypeError):
        return None
