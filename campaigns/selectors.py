"""Reads: counted beacons, campaign results, Thompson allocations."""

from collections import defaultdict
from collections.abc import Collection, Iterable

from django.db.models import Sum

from campaigns import conversions, stats
from campaigns.models import Campaign, EventCount, EventKind


def event_count_rows(*, campaign_id: int) -> list[stats.CountRow]:
    """Return the campaign's counted beacons per variant, kind and day."""
    rows = (
        EventCount.objects.filter(campaign_id=campaign_id)
        .values("variant_key", "kind", "day")
        .annotate(total=Sum("count"))
        .order_by("day")
    )
    return [
        stats.CountRow(variant_key=r["variant_key"], kind=r["kind"], day=r["day"], count=r["total"])
        for r in rows
    ]


def impressions_by_variant(*, campaign_ids: Collection[int]) -> dict[int, dict[str, int]]:
    """Return impressions per campaign and variant key."""
    rows = (
        EventCount.objects.filter(campaign_id__in=campaign_ids, kind=EventKind.VIEW)
        .values("campaign_id", "variant_key")
        .annotate(total=Sum("count"))
    )
    totals: dict[int, dict[str, int]] = defaultdict(dict)
    for row in rows:
        totals[row["campaign_id"]][row["variant_key"]] = row["total"]
    return dict(totals)


def thompson_allocations(
    *, campaigns: Iterable[Campaign], conversion_rows: Iterable[stats.ConversionRow]
) -> dict[int, dict[str, float]]:
    """Return the traffic share of each variant of campaigns that allocate by themselves."""
    campaigns = list(campaigns)
    impressions = impressions_by_variant(campaign_ids=[c.pk for c in campaigns])
    outcomes: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    currency = {c.pk: c.currency for c in campaigns}
    for row in conversion_rows:
        entry = outcomes[(row.campaign_id, row.variant_key)]
        entry[0] += row.conversions
        if row.currency == currency.get(row.campaign_id):
            entry[1] += row.revenue_minor
    allocations = {}
    for campaign in campaigns:
        arms = {}
        for variant in campaign.variants.all():
            conv, revenue = outcomes[(campaign.pk, variant.key)]
            arms[variant.key] = (
                impressions.get(campaign.pk, {}).get(variant.key, 0),
                conv,
                revenue,
            )
        allocations[campaign.pk] = stats.thompson_allocation(arms)
    return allocations


def campaign_results(*, campaign: Campaign) -> stats.CampaignResults:
    """Return a campaign's results per variant, with the allocation when it allocates itself."""
    rows = conversions.conversion_rows(campaign_ids=[campaign.pk])
    variant_keys = [v.key for v in campaign.variants.all()] or ["control"]
    allocation = None
    if campaign.auto_allocate and len(variant_keys) > 1:
        allocation = thompson_allocations(campaigns=[campaign], conversion_rows=rows)[campaign.pk]
    return stats.campaign_results(
        currency=campaign.currency,
        variant_keys=variant_keys,
        counts=event_count_rows(campaign_id=campaign.pk),
        conversion_rows=rows,
        allocation=allocation,
    )
