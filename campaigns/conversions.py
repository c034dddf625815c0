"""The one door to payments' attributed conversions (payments.selectors.campaign_conversions)."""

from collections.abc import Collection
from datetime import datetime

from campaigns.stats import ConversionRow


def conversion_rows(
    *, campaign_ids: Collection[int], since: datetime | None = None, until: datetime | None = None
) -> list[ConversionRow]:
    """Return payments' conversion rows for these campaigns, one per variant, day and currency."""
    # Imported here: payments' models refer to campaigns' models, so campaigns loads first.
    from payments.selectors import campaign_conversions

    return list(campaign_conversions(campaign_ids=campaign_ids, since=since, until=until))
