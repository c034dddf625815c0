"""Demo data for the embedded default: the admin login."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model

DEMO_ADMIN_USERNAME = "admin"


def demo_admin_seed() -> tuple[str, str]:
    """Create the demo superuser once and return its username and password.

    The password is random per checkout and kept under VAR_DIR, so it stays the same across runs.
    """
    password_file = settings.VAR_DIR / "demo-admin-password"
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(12))
        password_file.chmod(0o600)
    password = password_file.read_text().strip()
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=DEMO_ADMIN_USERNAME, defaults={"email": "admin@example.com"}
    )
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return DEMO_ADMIN_USERNAME, password
