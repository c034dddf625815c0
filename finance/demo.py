"""Demo lines for `manage.py seed_demo`: where finance looks."""

from django.conf import settings


def demo_seed() -> list[str]:
    """Point at the finance dashboard (it reports whatever the demo checkout records)."""
    return [
        f"Finance dashboard (admin): {settings.SITE_URL}/admin/finance/financedashboard/",
    ]
