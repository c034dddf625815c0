from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from campaigns import charts, selectors, stats
from campaigns.admin_forms import (
    CampaignAdminForm,
    VariantAdminForm,
    amounts_field,
    default_field,
)
from campaigns.models import Campaign, Frequency, KillSwitch, Variant
from campaigns.services import (
    campaigns_version_bump,
    killswitch_activate,
    killswitch_lift,
    preview_token_make,
)


def _percent(interval: stats.Interval) -> str:
    return f"{interval.value:.2%} ({interval.low:.2%}-{interval.high:.2%})"


class VariantFormSet(BaseInlineFormSet[Variant, Campaign, forms.ModelForm[Variant]]):
    """Gives each variant's form its campaign, whose currency the amounts rows are in."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "campaign": self.instance}


class VariantInline(admin.StackedInline[Variant, Campaign]):
    model = Variant
    form = VariantAdminForm
    formset = VariantFormSet
    extra = 0
    fieldsets = [
        (None, {"fields": [("key", "weight"), "headline", "body", "cta_label", "counter_text"]}),
        (
            "Amounts",
            {
                "fields": [(amounts_field(f), default_field(f)) for f in Frequency.values],
                "description": "One row per frequency, in the campaign's currency. Leave every "
                "row empty to use the campaign's amounts.",
            },
        ),
    ]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin[Campaign]):
    form = CampaignAdminForm
    change_form_template = "campaigns/admin/campaign_change_form.html"
    list_display = ["name", "status", "priority", "starts_at", "ends_at", "currency", "results"]
    list_filter = ["status", "currency"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [VariantInline]
    readonly_fields = ["results", "preview_links"]
    actions = ["make_live", "pause"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "status", "priority", "starts_at", "ends_at"]}),
        (
            "Placements",
            {
                "fields": [
                    "placement_banner",
                    "banner_position",
                    "placement_epic",
                    "placement_survey",
                    "show_in_banner_and_epic",
                ]
            },
        ),
        (
            "Copy",
            {
                "fields": [
                    "headline",
                    "body",
                    "why_it_matters",
                    "cta_label",
                    "counter_text",
                    "survey",
                ]
            },
        ),
        (
            "Amounts and goal",
            {
                "fields": [
                    "currency",
                    *((amounts_field(f), default_field(f)) for f in Frequency.values),
                    "goal_kind",
                    "goal_target",
                    "goal_baseline",
                ],
                "description": (
                    "One row per frequency, in the campaign's currency (e.g. 5, 10, 25). A "
                    "frequency left empty is not offered. In the counter text, {supporters} "
                    "shows the live count."
                ),
            },
        ),
        (
            "Targeting",
            {
                "fields": [
                    "sections_include",
                    "sections_exclude",
                    "tags_include",
                    "tags_exclude",
                    "url_patterns",
                    "countries",
                    "devices",
                    "readers",
                    "min_articles_read",
                    "articles_window_days",
                    "include_supporters",
                ]
            },
        ),
        (
            "Frequency and dismissal",
            {"fields": ["max_views", "max_views_days", "min_gap_minutes", "dismiss_days"]},
        ),
        ("Testing", {"fields": ["auto_allocate", "preview_links", "results"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return super().get_queryset(request).select_related("survey")

    def get_urls(self) -> list[URLPattern]:
        results = path(
            "<int:pk>/results/",
            self.admin_site.admin_view(self.results_view),
            name="campaigns_campaign_results",
        )
        return [results, *super().get_urls()]

    @admin.display(description="results")
    def results(self, obj: Campaign) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:campaigns_campaign_results", args=[obj.pk])
        return format_html('<a href="{}">Results</a>', url)

    @admin.display(description="preview links")
    def preview_links(self, obj: Campaign) -> str:
        if obj.pk is None:
            return "Save the campaign first."
        keys = [v.key for v in obj.variants.all()] or ["control"]
        return format_html_join(
            " · ",
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            (
                (
                    f"{settings.SITE_URL}/demo/?rs_preview="
                    f"{preview_token_make(campaign=obj, variant_key=key)}",
                    key,
                )
                for key in keys
            ),
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        campaign = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if campaign is not None:
            # Beside the form: the sample article page showing this campaign (same origin).
            token = preview_token_make(campaign=campaign, variant_key="control")
            context["preview_url"] = f"{reverse('demo-article')}?rs_preview={token}"
        return super().change_view(request, object_id, form_url, context)

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        campaigns_version_bump()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        campaigns_version_bump()

    def delete_model(self, request: HttpRequest, obj: Campaign) -> None:
        super().delete_model(request, obj)
        campaigns_version_bump()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        super().delete_queryset(request, queryset)
        campaigns_version_bump()

    @admin.action(description="Make the selected campaigns live", permissions=["change"])
    def make_live(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        updated = queryset.exclude(amounts={}).update(status=Campaign.Status.LIVE)
        campaigns_version_bump()
        self.message_user(request, f"{updated} campaign(s) live.", messages.SUCCESS)

    @admin.action(description="Pause the selected campaigns", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        updated = queryset.update(status=Campaign.Status.PAUSED)
        campaigns_version_bump()
        self.message_user(request, f"{updated} campaign(s) paused.", messages.SUCCESS)

    def results_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = get_object_or_404(Campaign.objects.prefetch_related("variants"), pk=pk)
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        results = selectors.campaign_results(campaign=campaign)
        impressions = {
            key or "(no variant)": [(p.day, float(p.impressions)) for p in points]
            for key, points in results.series.items()
        }
        converted = {
            key or "(no variant)": [(p.day, float(p.conversions)) for p in points]
            for key, points in results.series.items()
        }
        rows = [
            {
                "key": r.key or "(no variant)",
                "impressions": r.impressions,
                "clicks": r.clicks,
                "click_rate": _percent(r.click_rate),
                "dismissals": r.dismissals,
                "conversions": r.conversions,
                "conversion_rate": _percent(r.conversion_rate),
                "revenue": f"{r.revenue_minor / 100:,.2f}",
                "rpm": (
                    f"{r.rpm.value / 100:,.2f} ({r.rpm.low / 100:,.2f}-{r.rpm.high / 100:,.2f})"
                ),
                "beats_control": "—" if r.beats_control is None else f"{r.beats_control:.0%}",
                "allocation": "" if r.allocation is None else f"{r.allocation:.0%}",
            }
            for r in results.variants
        ]
        context = {
            **self.admin_site.each_context(request),
            "rows": rows,
            "opts": self.model._meta,
            "title": f"Results: {campaign.name}",
            "campaign": campaign,
            "results": results,
            "impressions_chart": charts.line_chart(title="Impressions per day", series=impressions),
            "conversions_chart": charts.line_chart(title="Conversions per day", series=converted),
        }
        return TemplateResponse(request, "campaigns/admin/results.html", context)


@admin.register(KillSwitch)
class KillSwitchAdmin(admin.ModelAdmin[KillSwitch]):
    """Editorial stop. Add one with no tag to pull every appeal at once."""

    list_display = ["__str__", "tag", "reason", "active", "created_at"]
    list_filter = ["active"]
    fields = ["tag", "reason"]
    actions = ["lift"]

    def has_change_permission(self, request: HttpRequest, obj: KillSwitch | None = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: KillSwitch, form: Any, change: bool) -> None:
        switch = killswitch_activate(tag=obj.tag, reason=obj.reason)
        obj.pk = switch.pk

    @admin.action(description="Lift the selected kill switches", permissions=["delete"])
    def lift(self, request: HttpRequest, queryset: QuerySet[KillSwitch]) -> None:
        for switch in queryset.filter(active=True):
            killswitch_lift(switch=switch)
        self.message_user(request, "Appeals may show again where those switches stopped them.")
