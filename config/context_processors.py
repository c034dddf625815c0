from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """Tell every page whether it is served by the embedded demo, which labels itself as such."""
    return {"demo_mode": settings.EMBEDDED, "site_url": settings.SITE_URL}
