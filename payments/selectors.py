"""Reads other apps may use. Campaigns calls only `campaign_conversions`, never the models."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate

from payments.models import Contribution, Payment


@dataclass(frozen=True)
class CampaignConversions:
    campaign_id: int
    variant_key: str
    day: date
    conversions: int
    revenue_minor: int
    currency: str


def campaign_conversions(
    *,
    campaign_ids: Collection[int],
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[CampaignConversions]:
    """Return conversions and revenue per campaign, variant, day (UTC) and currency.

    A conversion is a contribution whose first payment succeeded, counted on the day of that
    payment (`since` <= first payment < `until`). Revenue is the gross of the contribution's
    successful payments in the same window, less what was refunded of them, and is counted on
    the day of each payment.
    """
    if not campaign_ids:
        return []
    window = Q()
    if since is not None:
        window &= Q(paid_at__gte=since)
    if until is not None:
        window &= Q(paid_at__lt=until)
    revenue_rows = (
        Payment.objects.filter(
            window,
            status=Payment.Status.SUCCEEDED,
            contribution__campaign_id__in=list(campaign_ids),
        )
        .annotate(day=TruncDate("paid_at", tzinfo=UTC))
        .values("contribution__campaign_id", "contribution__variant_key", "day", "currency")
        .annotate(revenue=Sum(F("gross_minor") - F("refunded_minor")))
    )
    first_window = Q()
    if since is not None:
        first_window &= Q(first_paid_at__gte=since)
    if until is not None:
        first_window &= Q(first_paid_at__lt=until)
    conversion_rows = (
        Contribution.objects.filter(
            first_window, campaign_id__in=list(campaign_ids), first_paid_at__isnull=False
        )
        .annotate(day=TruncDate("first_paid_at", tzinfo=UTC))
        .values("campaign_id", "variant_key", "day", "currency")
        .annotate(conversions=Count("pk"))
    )
    totals: dict[tuple[int, str, date, str], list[int]] = {}
    for row in conversion_rows:
        key = (row["campaign_id"], row["variant_key"], row["day"], row["currency"])
        totals.setdefault(key, [0, 0])[0] += row["conversions"]
    for paid in revenue_rows:
        key = (
            paid["contribution__campaign_id"],
            paid["contribution__variant_key"],
            paid["day"],
            paid["currency"],
        )
        totals.setdefault(key, [0, 0])[1] += int(paid["revenue"] or 0)
    return [
        CampaignConversions(
            campaign_id=campaign_id,
            variant_key=variant_key,
            day=day,
            conversions=conversions,
            revenue_minor=revenue,
            currency=currency,
        )
        for (campaign_id, variant_key, day, currency), (conversions, revenue) in sorted(
            totals.items()
        )
    ]
