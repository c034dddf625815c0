"""Staff views of the ledger: read-only rows, plus the actions each role may take.

Money rows are never edited by hand; they change only through Stripe (events, refunds, cancels).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from payments.admin_forms import REFUND_REASONS, PartialRefundForm, payment_refund_refusal
from payments.gateway import GatewayError
from payments.models import (
    Contribution,
    ContributionFlag,
    Dispute,
    DisputeMovement,
    Payment,
    Payout,
    ReceiptSend,
    Refund,
    Subscription,
    Supporter,
    SupporterNotice,
    WebhookEvent,
)
from payments.money import money_format

# Amounts on the balance side are in the settlement currency where the row keeps one.
SETTLEMENT_SIDE = {"settlement_amount_minor", "fee_minor", "net_minor", "settlement_net_minor"}


def _currency_of(obj: Any, field: str) -> str:
    settlement = getattr(obj, "settlement_currency", "")
    return str(settlement if field in SETTLEMENT_SIDE and settlement else obj.currency)


def money_column(field: str, label: str = "") -> Any:
    """Return an admin column or read-only field showing `field` (minor units) as money."""

    def show(*args: Any) -> str:  # (obj), or (admin, obj) when an admin class attribute
        obj = args[-1]
        value = getattr(obj, field)
        return "—" if value is None else money_format(value, _currency_of(obj, field))

    show.short_description = label or field.removesuffix("_minor").replace("_", " ")  # type: ignore[attr-defined]
    show.admin_order_field = field  # type: ignore[attr-defined]
    return show


def money_field_name(field: str) -> str:
    return f"{field.removesuffix('_minor')}_money"


class LedgerAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Money rows: every field read-only, none added or deleted here; amounts shown as money in
    their currency (never as minor units).

    Unlike `staff.admin_base.ReadOnlyAdmin`, the change permission stays, because the staff
    actions (cancel, refund, resend) are granted through it and act through the services.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.model._meta.fields:
            if field.name.endswith("_minor"):
                setattr(self, money_field_name(field.name), money_column(field.name))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [
            money_field_name(field.name) if field.name.endswith("_minor") else field.name
            for field in self.model._meta.fields
        ]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:  # type: ignore[override]
        # Only what is shown read-only: the raw minor-unit fields never reach the form.
        return list(self.get_readonly_fields(request, obj))


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ContributionInline(ReadOnlyInline):
    model = Contribution
    amount = money_column("amount_minor")
    fields = readonly_fields = ("created_at", "frequency", "amount", "status")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fk_name = "contribution"
    gross = money_column("gross_minor", "paid")
    fee = money_column("fee_minor", "Stripe fee")
    refunded = money_column("refunded_minor")
    fields = readonly_fields = ("paid_at", "kind", "status", "gross", "fee", "refunded")


class ContributionFlagInline(ReadOnlyInline):
    """What staff must act on about this contribution (refund a second checkout, ...)."""

    model = ContributionFlag
    verbose_name_plural = "needs staff action"
    fields = readonly_fields = ("kind", "detail", "created_at", "resolved_at")


class OpenFlagFilter(admin.SimpleListFilter):
    title = "needs staff action"
    parameter_name = "flagged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Yes (open flags)"), *ContributionFlag.Kind.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() is None:
            return queryset
        open_flags = ContributionFlag.objects.filter(resolved_at__isnull=True)
        if self.value() != "open":
            open_flags = open_flags.filter(kind=self.value())
        return queryset.filter(pk__in=open_flags.values("contribution_id"))


class DisputeMovementInline(ReadOnlyInline):
    """The money a dispute moved, each movement with the payout that carried it."""

    model = DisputeMovement
    show_change_link = False
    amount = money_column("amount_minor")
    fee = money_column("fee_minor")
    net = money_column("net_minor")
    fields = readonly_fields = (
        "moved_at",
        "amount",
        "fee",
        "net",
        "stripe_balance_transaction_id",
        "stripe_payout_id",
    )


@admin.register(Supporter)
class SupporterAdmin(LedgerAdmin):
    list_display = ["email", "name", "created_at"]
    search_fields = ["email", "name", "stripe_customer_id"]
    inlines = [ContributionInline]


@admin.register(Contribution)
class ContributionAdmin(LedgerAdmin):
    list_display = [
        "pk",
        "supporter",
        "frequency",
        "amount",
        "status",
        "staff_action",
        "campaign",
        "created_at",
    ]
    list_filter = [OpenFlagFilter, "status", "frequency", "currency", "provider", "campaign"]
    search_fields = ["supporter__email", "stripe_checkout_session_id", "stripe_payment_intent_id"]
    list_select_related = ["supporter", "campaign"]
    date_hierarchy = "created_at"
    inlines = [ContributionFlagInline, PaymentInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contribution]:
        return super().get_queryset(request).prefetch_related("flags")

    @admin.display(description="amount")
    def amount(self, obj: Contribution) -> str:
        return money_format(obj.charge_minor, obj.currency)

    @admin.display(description="needs staff action")
    def staff_action(self, obj: Contribution) -> str:
        return "; ".join(f.get_kind_display() for f in obj.flags.all() if f.resolved_at is None)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # What staff must act on first, where they look first.
        return ["staff_action", *super().get_readonly_fields(request, obj), "history"]

    @admin.display(description="history")
    def history(self, obj: Contribution) -> str:
        """Everything that happened to this contribution, oldest first."""
        entries: list[tuple[Any, str]] = [(obj.created_at, "Started")]
        subscription = Subscription.objects.filter(contribution=obj).first()
        if subscription is not None:
            entries.append(
                (subscription.created_at, f"Subscription {subscription.stripe_subscription_id}")
            )
            entries += _amount_changes(subscription)
            reason = subscription.cancel_reason or subscription.stripe_cancellation_reason
            if subscription.ends_at and subscription.canceled_at:
                ends = f"{subscription.ends_at:%Y-%m-%d}"
                entries.append(
                    (
                        subscription.canceled_at,
                        f"Cancellation scheduled for {ends} ({reason or 'no reason'})",
                    )
                )
            elif subscription.canceled_at:
                entries.append((subscription.canceled_at, f"Cancelled ({reason or 'no reason'})"))
        payments = obj.payments.prefetch_related("refunds", "disputes__movements", "receipt_sends")
        for payment in payments:
            money = money_format(payment.gross_minor, payment.currency)
            when = payment.paid_at or payment.failed_at or payment.created_at
            entries.append((when, f"Payment {payment.pk}: {money} {payment.get_status_display()}"))
            for refund in payment.refunds.all():
                amount = money_format(refund.amount_minor, refund.currency)
                note = f": {refund.note}" if refund.note else ""
                entries.append((refund.refunded_at, f"Refund {amount} ({refund.status}){note}"))
            for dispute in payment.disputes.all():
                amount = money_format(dispute.amount_minor, dispute.currency)
                if dispute.is_inquiry:
                    opened = f"Inquiry about {amount} opened (at stake; nothing withdrawn)"
                else:
                    opened = f"Dispute {amount} opened"
                entries.append((dispute.opened_at, opened))
                for movement in dispute.movements.all():
                    moved = money_format(abs(movement.net_minor), movement.currency)
                    entries.append((movement.moved_at, f"Dispute {movement.kind}: {moved}"))
                if dispute.closed_at:
                    entries.append((dispute.closed_at, f"Dispute closed: {dispute.status}"))
            for send in payment.receipt_sends.all():
                if send.sent_at:
                    entries.append((send.sent_at, f"{send.get_kind_display()} sent"))
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td></tr>",
            ((f"{w:%Y-%m-%d %H:%M}", t) for w, t in sorted(entries, key=lambda e: e[0])),
        )
        return format_html("<table>{}</table>", rows)


def _amount_changes(subscription: Subscription) -> list[tuple[Any, str]]:
    """Each change of a subscription's amount, from the amounts it replaced."""
    replaced = list(subscription.past_amounts.order_by("valid_until"))
    if not replaced:
        return []
    # Each amount was replaced by the next one, and the last by the amount in force now.
    after = [*(row.amount_minor for row in replaced[1:]), subscription.amount_minor]
    return [
        (
            row.valid_until,
            f"Amount changed from {money_format(row.amount_minor, subscription.currency)} "
            f"to {money_format(new, subscription.currency)}",
        )
        for row, new in zip(replaced, after, strict=True)
    ]


@admin.register(Subscription)
class SubscriptionAdmin(LedgerAdmin):
    list_display = [
        "stripe_subscription_id",
        "contribution",
        "status",
        "cancel_at",
        money_column("amount_minor"),
    ]
    list_filter = ["status", ("cancel_at", admin.EmptyFieldListFilter), "currency"]
    search_fields = ["stripe_subscription_id", "contribution__supporter__email"]
    list_select_related = ["contribution"]
    actions = ["cancel_subscriptions"]

    @admin.action(description="Cancel the selected subscriptions now", permissions=["change"])
    def cancel_subscriptions(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        from payments.services import subscription_cancel

        done = 0
        for subscription in queryset.exclude(status=Subscription.Status.CANCELED):
            try:
                subscription_cancel(
                    subscription=subscription, reason=f"Cancelled by staff ({request.user})"
                )
                done += 1
            except GatewayError as error:
                self.message_user(request, f"{subscription}: {error}", messages.ERROR)
        self.message_user(request, f"{done} subscription(s) cancelled.")


@admin.register(Payment)
class PaymentAdmin(LedgerAdmin):
    list_display = [
        "pk",
        "contribution",
        "kind",
        "status",
        "gross",
        money_column("fee_minor", "Stripe fee"),
        money_column("refunded_minor", "refunded"),
        "paid_at",
    ]
    list_filter = ["status", "kind", "currency", "payment_method_type"]
    search_fields = [
        "contribution__supporter__email",
        "stripe_payment_intent_id",
        "stripe_charge_id",
        "stripe_invoice_id",
    ]
    list_select_related = ["contribution"]
    date_hierarchy = "paid_at"
    actions = ["refund_in_full", "refund_part", "resend_receipts"]
    change_form_template = "payments/admin/payment_change_form.html"

    @admin.display(description="gross")
    def gross(self, obj: Payment) -> str:
        return money_format(obj.gross_minor, obj.currency)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.refund_payment")

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.resend_receipt")

    @admin.action(description="Refund the selected payments in full", permissions=["refund"])
    def refund_in_full(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        from payments.services import payment_refund

        done = 0
        for payment in queryset:
            try:
                payment_refund(
                    payment=payment,
                    amount_minor=None,
                    reason="requested_by_customer",
                    staff_user_id=int(request.user.pk or 0),
                )
                done += 1
            except GatewayError as error:
                self.message_user(request, f"Payment {payment.pk}: {error}", messages.ERROR)
        self.message_user(request, f"{done} payment(s) refunded.")

    @admin.action(description="Refund part of the selected payment", permissions=["refund"])
    def refund_part(
        self, request: HttpRequest, queryset: QuerySet[Payment]
    ) -> HttpResponseRedirect | None:
        chosen = list(queryset.values_list("pk", flat=True)[:2])
        if len(chosen) != 1:
            self.message_user(
                request, "Select exactly one payment to refund part of it.", messages.ERROR
            )
            return None
        return HttpResponseRedirect(reverse("admin:payments_payment_refund", args=[chosen[0]]))

    def get_urls(self) -> list[URLPattern]:
        refund = path(
            "<path:object_id>/refund/",
            self.admin_site.admin_view(self.refund_view),
            name="payments_payment_refund",
        )
        return [refund, *super().get_urls()]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        payment = self.get_object(request, object_id)
        if (
            payment is not None
            and self.has_refund_permission(request)
            and not payment_refund_refusal(payment)
        ):
            extra["refund_url"] = reverse("admin:payments_payment_refund", args=[payment.pk])
        return super().change_view(request, object_id, form_url, extra)

    def refund_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Refund part of one payment: the amount and reason, a confirmation, then the refund."""
        from payments.services import payment_refund

        if not self.has_refund_permission(request):
            raise PermissionDenied
        payment = self.get_object(request, object_id)
        if payment is None:
            raise Http404(f"There is no payment {object_id}.")
        change_url = reverse("admin:payments_payment_change", args=[payment.pk])
        refusal = payment_refund_refusal(payment)
        if refusal:
            self.message_user(request, refusal, messages.ERROR)
            return HttpResponseRedirect(change_url)
        form = PartialRefundForm(request.POST or None, payment=payment)
        confirming = False
        if request.method == "POST" and form.is_valid():
            amount_minor = form.cleaned_data["amount"]
            if "change" in request.POST:
                pass  # back from the confirmation to the form, with what was typed
            elif request.POST.get("confirmed") != "yes":
                confirming = True
            else:
                amount = money_format(amount_minor, payment.currency)
                try:
                    payment_refund(
                        payment=payment,
                        amount_minor=amount_minor,
                        reason=form.cleaned_data["reason"],
                        staff_user_id=int(request.user.pk or 0),
                        note=form.cleaned_data["note"],
                    )
                except GatewayError as error:
                    self.message_user(
                        request, f"The refund of {amount} was not made: {error}", messages.ERROR
                    )
                else:
                    self.message_user(
                        request, f"{amount} of payment {payment.pk} refunded.", messages.SUCCESS
                    )
                    return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Refund part of payment {payment.pk}",
            "payment": payment,
            "form": form,
            "confirming": confirming,
            "gross": money_format(payment.gross_minor, payment.currency),
            "refunded": money_format(payment.refunded_minor, payment.currency),
            "refundable": money_format(payment.refundable_minor, payment.currency),
            "refunds": [
                (
                    refund.refunded_at,
                    money_format(refund.amount_minor, refund.currency),
                    REFUND_REASONS.get(refund.reason, refund.reason),
                    refund.status,
                    refund.note,
                )
                for refund in payment.refunds.order_by("refunded_at")
            ],
            "change_url": change_url,
        }
        if confirming:
            context["amount"] = money_format(form.cleaned_data["amount"], payment.currency)
            context["reason"] = REFUND_REASONS[form.cleaned_data["reason"]]
        return TemplateResponse(request, "payments/admin/payment_refund.html", context)

    @admin.action(description="Resend the receipt of the selected payments", permissions=["resend"])
    def resend_receipts(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        from payments.tasks import receipt_resend

        sent = 0
        for payment in queryset.filter(status=Payment.Status.SUCCEEDED):
            receipt_resend.delay(payment.pk)
            sent += 1
        self.message_user(request, f"{sent} receipt(s) will be sent again.")


@admin.register(ContributionFlag)
class ContributionFlagAdmin(LedgerAdmin):
    list_display = ["contribution", "kind", "detail", "created_at", "resolved_at"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    list_select_related = ["contribution"]
    actions = ["resolve"]

    @admin.action(description="Mark resolved (acted on in Stripe, or kept)", permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[ContributionFlag]) -> None:
        done = queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
        self.message_user(request, f"{done} flag(s) marked resolved.", messages.SUCCESS)


@admin.register(Refund)
class RefundAdmin(LedgerAdmin):
    list_display = [
        "stripe_refund_id",
        "payment",
        money_column("amount_minor"),
        "status",
        "refunded_at",
        "note",
    ]
    search_fields = ["stripe_refund_id", "note"]


@admin.register(Dispute)
class DisputeAdmin(LedgerAdmin):
    inlines = [DisputeMovementInline]
    list_display = [
        "stripe_dispute_id",
        "payment",
        "kind",
        money_column("amount_minor"),
        "status",
        "opened_at",
        "closed_at",
    ]
    list_filter = ["status"]

    @admin.display(description="kind")
    def kind(self, obj: Dispute) -> str:
        return "inquiry (nothing withdrawn)" if obj.is_inquiry else "chargeback"


@admin.register(Payout)
class PayoutAdmin(LedgerAdmin):
    list_display = ["stripe_payout_id", money_column("amount_minor"), "arrival_date", "status"]
    list_filter = ["status", "currency"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(LedgerAdmin):
    list_display = ["stripe_event_id", "type", "status", "attempts", "created", "received_at"]
    list_filter = ["status", "type"]
    search_fields = ["stripe_event_id"]


@admin.register(ReceiptSend)
class ReceiptSendAdmin(LedgerAdmin):
    list_display = ["payment", "kind", "sent_at"]
    list_filter = ["kind"]


@admin.register(SupporterNotice)
class SupporterNoticeAdmin(LedgerAdmin):
    list_display = ["subscription", "kind", "key", "sent_at"]
    list_filter = ["kind"]
    search_fields = ["subscription__stripe_subscription_id", "to_email"]
